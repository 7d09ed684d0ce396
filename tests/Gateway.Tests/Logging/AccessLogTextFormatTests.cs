using System.Net;
using System.Text.Json;

namespace Gateway.Tests.Logging;

/// <summary>
/// <c>logging.format: text</c> and <c>logging.level: debug</c> through the real gateway: every line is text, the
/// access line is one key=value line with the JSON line's fields, and the framework's own per-request lines are gone.
/// </summary>
public sealed class AccessLogTextFormatTests
{
    private static string Config(string format, string backend) => $$"""
        logging: {level: debug, format: {{format}}}
        routes:
          - {id: users, path: /api/users/:id, backend: "{{backend}}"}
          - {id: down, path: /down, backend: "http://127.0.0.1:{{RawBackend.RefusedPort()}}"}
        """;

    [Fact]
    public async Task Text_format_at_debug_writes_key_value_access_lines_and_no_json()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config("text", backend.Url));
        var hostile = "evil \"agent\" reason=forged status=999 \\ \t" + new string('x', 500);
        var ok = await gateway.SendRawAsync($"GET /api/users/7?token=secret HTTP/1.1\r\nHost: api.example\r\nUser-Agent: {hostile}\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", ok, StringComparison.Ordinal);
        using var down = await gateway.Client.GetAsync("/down");
        Assert.Equal(HttpStatusCode.BadGateway, down.StatusCode);
        await gateway.SendRawAsync("GET /api/users/8 HTTP/1.0\r\n\r\n");

        var access = await AccessLines.TextAsync(gateway, 3);
        var lines = await gateway.LogLinesAsync();
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith('{'));
        AssertNoFrameworkRequestLines(lines);
        Assert.Equal(3, access.Length);

        var first = access.Single(a => a["path"] == "/api/users/7?token=***");
        Assert.Equal("info", first.Level);
        Assert.Equal("200", first["status"]);
        Assert.Equal("users", first["route"]);
        Assert.Equal(backend.Url, first["backend"]);
        Assert.Equal("127.0.0.1", first["client_ip"]);
        Assert.Equal("api.example", first["host"]);
        Assert.Equal("HTTP/1.1", first["protocol"]);
        Assert.Equal(hostile[..256], first["user_agent"]);
        Assert.Null(first["reason"]);
        Assert.Null(first["user"]);
        Assert.Matches("^[0-9]+(\\.[0-9]{1,3})?$", first["duration_ms"]!);
        Assert.Matches("^[0-9]+(\\.[0-9]{1,3})?$", first["upstream_ms"]!);

        var refused = access.Single(a => a["path"] == "/down");
        Assert.Equal("error", refused.Level);
        Assert.Equal("502", refused["status"]);
        Assert.Equal("upstream_connect_refused", refused["reason"]);
        Assert.Equal(down.Headers.GetValues("X-Request-Id").Single(), refused["request_id"]);

        var old = access.Single(a => a["path"] == "/api/users/8");
        Assert.Equal("HTTP/1.0", old["protocol"]);
        Assert.Null(old["host"]);
        Assert.Null(old["user_agent"]);
    }

    [Fact]
    public async Task Json_format_at_debug_keeps_kestrel_lines_but_not_the_frameworks_request_lines()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config("json", backend.Url));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync($"/api/users/{i}")).StatusCode);
        }

        await AccessLines.JsonAsync(gateway, 3);
        var lines = await gateway.LogLinesAsync();
        AssertNoFrameworkRequestLines(lines);
        Assert.All(lines, l => JsonDocument.Parse(l).Dispose());
        // Debugging still sees the server's connections.
        Assert.Contains(lines, l => l.Contains("\"category\":\"Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal));
        Assert.Equal(3, lines.Count(AccessLines.IsJsonAccess));
    }

    private static void AssertNoFrameworkRequestLines(string[] lines)
    {
        Assert.DoesNotContain(lines, l => l.Contains("Request starting", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Request finished", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal));
    }
}
