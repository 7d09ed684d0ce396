using Gateway.Configuration;

namespace Gateway.Tests.Compression;

/// <summary>Validation of compression blocks: every problem located at its key.</summary>
public sealed class CompressionConfigTests
{
    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, "test.yaml", Directory.GetCurrentDirectory());

    [Fact]
    public void Bad_min_bytes_and_type_patterns_are_errors_at_their_keys()
    {
        var result = Load("""
            compression:
              min_bytes: -1
              types: [text/*, text, "*/*", "application/json; charset=utf-8", "*/json", "te xt/html"]
            routes:
              - path: /a
                mock: {status: 200}
                compression:
                  min_bytes: -5
            """);
        var errors = result.Errors.Select(e => (e.Path, e.Line, e.Column)).ToList();
        Assert.Contains(("compression.min_bytes", 2, 14), errors);
        Assert.Contains(("routes[0].compression.min_bytes", 8, 18), errors);
        Assert.Equal(
            ["compression.types[1]", "compression.types[2]", "compression.types[3]", "compression.types[4]", "compression.types[5]"],
            result.Errors.Where(e => e.Path.StartsWith("compression.types", StringComparison.Ordinal)).Select(e => e.Path));
        var text = Assert.Single(result.Errors, e => e.Path == "compression.types[1]");
        Assert.Equal(3, text.Line);
        Assert.Contains("'text'", text.Message, StringComparison.Ordinal);
        Assert.Equal(7, result.Errors.Count());
    }

    [Fact]
    public void Defaults_and_an_empty_block()
    {
        var result = Load("""
            compression: {}
            routes:
              - {path: /a, mock: {status: 200}}
            """);
        Assert.Empty(result.Problems);
        var compression = result.Config!.Compression!;
        Assert.True(compression.Enabled);
        Assert.Equal(1024, compression.MinBytes);
        Assert.Contains("text/*", compression.Types);
        Assert.Contains("*/*+json", compression.Types);
    }

    [Fact]
    public void An_empty_type_list_and_event_streams_are_warned_about()
    {
        var result = Load("""
            compression: {types: [text/event-stream]}
            routes:
              - {path: /a, mock: {status: 200}, compression: {types: []}}
            """);
        Assert.Empty(result.Errors);
        Assert.Equal(["compression.types[0]", "routes[0].compression.types"], result.Warnings.Select(w => w.Path));
    }

    [Fact]
    public void Unknown_keys_are_errors_with_a_suggestion()
    {
        var result = Load("""
            compression: {min_byte: 10}
            routes:
              - {path: /a, mock: {status: 200}}
            """);
        var error = Assert.Single(result.Errors);
        Assert.Contains("min_bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Whole_types_that_hold_compressed_formats_are_warned_about_by_name()
    {
        var result = Load("""
            compression: {types: [application/*, text/*, IMAGE/*]}
            routes:
              - {path: /a, mock: {status: 200}}
            """);
        Assert.Empty(result.Errors);
        Assert.Equal(["compression.types[0]", "compression.types[2]"], result.Warnings.Select(w => w.Path));
        Assert.Contains("application/zip", result.Warnings.First().Message, StringComparison.Ordinal);
        Assert.Contains("image/png", result.Warnings.Last().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_concurrent_is_global_and_at_least_one()
    {
        var result = Load("""
            compression: {max_concurrent: 0}
            routes:
              - {path: /a, mock: {status: 200}, compression: {max_concurrent: 10}}
            """);
        Assert.Equal(["compression.max_concurrent", "routes[0].compression.max_concurrent"], result.Errors.Select(e => e.Path));
        Assert.Equal(256, Load("compression: {}\nroutes:\n  - {path: /a, mock: {status: 200}}\n").Config!.Compression!.MaxConcurrent);
    }
}
