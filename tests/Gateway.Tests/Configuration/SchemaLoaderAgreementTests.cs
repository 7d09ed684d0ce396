using System.Text.Json;
using Gateway.Configuration;
using Json.Schema;

namespace Gateway.Tests.Configuration;

/// <summary>
/// Review findings: values the JSON Schema accepts that the loader refuses. JSON is YAML, so each document is read
/// by the loader as it stands and checked by the schema as the JSON an editor sees.
/// </summary>
public sealed class SchemaLoaderAgreementTests : IDisposable
{
    private static readonly JsonSchema Schema = JsonSchema.FromText(ConfigSchema.Text());

    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-review-schema-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    // JSON Schema's "integer" is any number with a zero fraction (draft 2020-12, section 6.1.1): the loader reads
    // 8080.0 and 1e3 as the integers they are, as the schema does.
    [InlineData("""{"server": {"port": 8080.0}, "routes": [{"path": "/a", "mock": {"status": 200}}]}""", 8080)]
    [InlineData("""{"server": {"port": 1e3}, "routes": [{"path": "/a", "mock": {"status": 200}}]}""", 1000)]
    public void Whole_numbers_in_any_notation_load_as_the_schema_reads_them(string json, int port)
    {
        var loaded = ConfigLoader.LoadText(json, "review.yaml", _dir, _ => null);
        Assert.False(loaded.HasErrors, string.Join('\n', loaded.Problems));
        Assert.Equal(port, loaded.Config!.Server.Port);
        Assert.True(Schema.Evaluate(JsonDocument.Parse(json).RootElement).IsValid);
    }

    [Theory]
    [InlineData("""{"server": {"port": 8080.5}, "routes": [{"path": "/a", "mock": {"status": 200}}]}""", "server.port")]
    // A quoted integer is checked by the pattern only (minimum and maximum do not apply to strings): its digits are bounded.
    [InlineData("""{"server": {"port": "99999999999"}, "routes": [{"path": "/a", "mock": {"status": 200}}]}""", "server.port")]
    public void Schema_refuses_what_the_loader_refuses(string json, string path)
    {
        var loaded = ConfigLoader.LoadText(json, "review.yaml", _dir, _ => null);
        Assert.Contains(loaded.Errors, p => p.Path == path);

        var results = Schema.Evaluate(JsonDocument.Parse(json).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.False(results.IsValid, $"the schema accepts {json}, which the loader refuses at {path}");
    }
}
