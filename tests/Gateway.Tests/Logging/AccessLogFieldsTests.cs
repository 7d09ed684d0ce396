using System.Net;
using System.Text.Json;

namespace Gateway.Tests.Logging;

/// <summary>The access log's fields through the real gateway, on whichever HTTP/1.1 codec the suite runs.</summary>
public sealed class AccessLogFieldsTests
{
    private static string Routes(string backend) => $$"""
        routes:
          - {id: users, path: /api/users/:id, backend: "{{backend}}"}
        """;

    [Fact]
    public async Task A_proxied_request_has_spec_fields_then_host_protocol_user_agent_and_no_reason()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users/7?token=secret");
        request.Headers.UserAgent.ParseAdd("probe/2.1 (+https://example.com/bot)");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var line = await AccessLines.JsonForAsync(gateway, response);
        Assert.Equal(AccessLines.JsonFields, line.EnumerateObject().Select(p => p.Name));
        Assert.Equal("info", line.GetProperty("level").GetString());
        Assert.Equal("127.0.0.1", line.GetProperty("client_ip").GetString());
        Assert.Equal("GET", line.GetProperty("method").GetString());
        Assert.Equal("/api/users/7?token=***", line.GetProperty("path").GetString());
        Assert.Equal("users", line.GetProperty("route").GetString());
        Assert.Equal(backend.Url, line.GetProperty("backend").GetString());
        Assert.Equal(200, line.GetProperty("status").GetInt32());
        Assert.Equal(JsonValueKind.Number, line.GetProperty("upstream_ms").ValueKind);
        Assert.True(line.GetProperty("bytes_out").GetInt64() > 0);
        Assert.Equal($"127.0.0.1:{gateway.Port}", line.GetProperty("host").GetString());
        Assert.Equal("HTTP/1.1", line.GetProperty("protocol").GetString());
        Assert.Equal("probe/2.1 (+https://example.com/bot)", line.GetProperty("user_agent").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("reason").ValueKind);
    }

    [Fact]
    public async Task A_backends_own_error_has_no_reason()
    {
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        using var response = await gateway.Client.GetAsync("/api/users/1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var line = await AccessLines.JsonForAsync(gateway, response);
        Assert.Equal("error", line.GetProperty("level").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("reason").ValueKind);
        Assert.Equal(JsonValueKind.Null, line.GetProperty("user_agent").ValueKind);
    }

    [Fact]
    public async Task Http10_without_host_is_logged_as_such()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        var response = await gateway.SendRawAsync("GET /api/users/3 HTTP/1.0\r\nUser-Agent: old/1.0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        var line = Assert.Single(await AccessLines.JsonAsync(gateway, 1));
        Assert.Equal("HTTP/1.0", line.GetProperty("protocol").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("host").ValueKind);
        Assert.Equal("old/1.0", line.GetProperty("user_agent").GetString());
    }

    [Fact]
    public async Task Http2_is_logged_with_its_authority_as_host()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync("server:\n  host: 127.0.0.1\n  port: 0\n  http2: true\n" + Routes(backend.Url));
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("h2client/1");
        using var response = await client.GetAsync($"http://127.0.0.1:{gateway.Port}/api/users/5");
        Assert.Equal(HttpVersion.Version20, response.Version);
        var line = await AccessLines.JsonForAsync(gateway, response);
        Assert.Equal("HTTP/2", line.GetProperty("protocol").GetString());
        Assert.Equal($"127.0.0.1:{gateway.Port}", line.GetProperty("host").GetString());
        Assert.Equal("h2client/1", line.GetProperty("user_agent").GetString());
    }

    [Fact]
    public async Task A_hostile_user_agent_cannot_add_fields_or_lines()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        var hostile = "x\"}, \"status\": 999, \"reason\": \"forged\", \"a\":\"\\\t" + new string('y', 1000);
        var ok = await gateway.SendRawAsync($"GET /api/users/1 HTTP/1.1\r\nHost: Api.Example.COM:8080\r\nUser-Agent: {hostile}\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", ok, StringComparison.Ordinal);
        // Line breaks inside the value: each codec refuses or splits such a request, and no line may come of it.
        foreach (var breaker in new[] { "\r", "\n", "\r\n" })
        {
            await gateway.SendRawAsync($"GET /api/users/2 HTTP/1.1\r\nHost: h\r\nUser-Agent: a{breaker}{{\"type\":\"access\",\"status\":999}}\r\nConnection: close\r\n\r\n");
        }

        await gateway.SendRawAsync("GET /api/users/3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        var lines = await AccessLines.JsonAsync(gateway, 2);
        var all = await gateway.LogLinesAsync();
        Assert.All(all.Where(l => l.StartsWith('{')), l => JsonDocument.Parse(l).Dispose());
        Assert.All(lines, l => Assert.Equal(AccessLines.JsonFields, l.EnumerateObject().Select(p => p.Name)));
        Assert.DoesNotContain(lines, l => l.GetProperty("status").GetInt32() == 999);
        Assert.DoesNotContain(lines, l => l.GetProperty("reason").ValueKind != JsonValueKind.Null && l.GetProperty("reason").GetString() == "forged");
        var first = lines.Single(l => l.GetProperty("path").GetString() == "/api/users/1");
        Assert.Equal(hostile[..256], first.GetProperty("user_agent").GetString());
        // As sent: the log shows what the client asked for, not the name routes compare.
        Assert.Equal("Api.Example.COM:8080", first.GetProperty("host").GetString());
        Assert.Equal(200, first.GetProperty("status").GetInt32());
    }
}
