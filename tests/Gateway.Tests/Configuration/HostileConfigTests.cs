using Gateway.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>Hostile config values: interpolated secrets, file references, framing headers, huge numbers, tabs.</summary>
public sealed class HostileConfigTests
{
    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, "r.yaml", "/tmp", _ => null);

    [Fact]
    public void Interpolated_values_are_never_echoed_in_problems()
    {
        var dir = Directory.CreateTempSubdirectory("gateway-secret-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "secret.txt"), "root:x:0:0:super-secret-line\nsecond-line");
            var result = ConfigLoader.LoadText("routes:\n  - {path: /a, backend: \"${file:secret.txt}\"}\n", "r.yaml", dir, _ => null);
            var text = string.Join('\n', result.Problems);
            Assert.Contains("${file:secret.txt}", text, StringComparison.Ordinal);
            Assert.DoesNotContain("super-secret-line", text, StringComparison.Ordinal);
            Assert.DoesNotContain("second-line", text, StringComparison.Ordinal);

            var env = ConfigLoader.LoadText("server:\n  host: \"${HOSTNAME_SECRET}\"\nroutes: []\n", "r.yaml", dir, n => n == "HOSTNAME_SECRET" ? "hunter2-not-an-ip" : null);
            Assert.DoesNotContain("hunter2", string.Join('\n', env.Problems), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void File_references_are_bounded()
    {
        var zero = Load("routes:\n  - {path: /a, backend: \"${file:/dev/zero}\"}\n");
        Assert.Contains(zero.Errors, e => e.Message.Contains("is not a regular file (a character device)", StringComparison.Ordinal));
        var directory = Load("routes:\n  - {path: /a, backend: \"${file:/tmp}\"}\n");
        Assert.Contains(directory.Errors, e => e.Message.Contains("is a directory", StringComparison.Ordinal));
    }

    [Fact]
    public void Mock_routes_cannot_set_framing_headers()
    {
        var result = Load("routes:\n  - {path: /a, mock: {status: 200, body: x, headers: {Transfer-Encoding: chunked, Connection: close, X-Ok: y}}}\n");
        Assert.Contains(result.Errors, e => e.Path == "routes[0].mock.headers.Transfer-Encoding");
        Assert.Contains(result.Errors, e => e.Path == "routes[0].mock.headers.Connection");
        Assert.DoesNotContain(result.Errors, e => e.Path == "routes[0].mock.headers.X-Ok");
    }

    [Fact]
    public void Out_of_range_numbers_and_unmatchable_patterns_say_so()
    {
        var big = Load("server:\n  port: 99999999999999\nroutes: []\n");
        Assert.Contains(big.Errors, e => e.Path == "server.port" && e.Message.StartsWith("is out of range", StringComparison.Ordinal));
        var dots = Load("routes:\n  - {path: /%2e%2e/x, backend: \"http://127.0.0.1:1\"}\n");
        Assert.Contains(dots.Errors, e => e.Path == "routes[0].path");
    }

    [Fact]
    public void Tabs_are_located()
    {
        var result = Load("server:\n  port: 8080\nroutes:\n\t- path: /a\n");
        var error = Assert.Single(result.Errors);
        Assert.Equal(4, error.Line);
    }
}
