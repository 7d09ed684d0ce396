using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Forwarding;

/// <summary>
/// A request the gateway will not send is the client's fault: it is refused before a backend is picked and never
/// counts against a backend, its breaker, its passive health or the retry budget. Both HTTP/1.1 paths (the own client
/// and YARP) are checked.
/// </summary>
public sealed class ClientFaultTests
{
    private static string Resilient(string a, string b) => $$$"""
        circuit_breaker: {failure_threshold: 3, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}
        retry: {max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 2}
        routes:
          - id: api
            path: /api/*rest
            backends: [{url: "{{{a}}}"}, {url: "{{{b}}}"}]
            health_check: {passive_enabled: true, unhealthy_threshold: 2, ejection_secs: 30}
          - {id: hosted, path: /hosted, backend: "{{{a}}}", hosts: [api.example.com]}
        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Header_values_with_control_characters_get_400_and_never_reach_or_hurt_a_backend(bool http1)
    {
        await using var a = await TestBackend.StartEchoAsync();
        await using var b = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Resilient(a.Url, b.Url), http1FastPath: http1);
        foreach (var value in new[] { "curl\u001b[31m", "x\u0001y", "tab\tis\u007ffine-not" })
        {
            for (var i = 0; i < 4; i++)
            {
                var raw = await gateway.SendRawAsync($"GET /api/x HTTP/1.1\r\nHost: t\r\nUser-Agent: {value}\r\nConnection: close\r\n\r\n");
                Assert.StartsWith("HTTP/1.1 400", raw, StringComparison.Ordinal);
                Assert.Contains("User-Agent", raw, StringComparison.Ordinal);
            }
        }

        Assert.Equal(0, a.Requests + b.Requests);
        var backends = gateway.Host.State.Backends.Values;
        Assert.All(backends, backend =>
        {
            Assert.Equal(0, backend.Requests);
            Assert.Equal(0, backend.Errors);
            Assert.True(backend.Available);
            Assert.Equal(Gateway.Resilience.BreakerState.Closed, backend.Breaker!.State);
        });

        // A tab is a legal field character and obs-text passes as the client sent it.
        var tab = await gateway.SendRawAsync("GET /api/x HTTP/1.1\r\nHost: t\r\nX-Note: a\tb\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", tab, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_host_that_is_not_valid_punycode_is_compared_as_sent_and_never_a_500(bool http1)
    {
        await using var a = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Resilient(a.Url, a.Url), http1FastPath: http1);
        foreach (var host in new[] { "xn--zz", "xn--", "xn--a.xn--zz", "API.EXAMPLE.COM.", "api.example.com.:80" })
        {
            var raw = await gateway.SendRawAsync($"GET /hosted HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            var expected = host.StartsWith("api", StringComparison.OrdinalIgnoreCase) ? "HTTP/1.1 200" : "HTTP/1.1 404";
            Assert.True(raw.StartsWith(expected, StringComparison.Ordinal), $"Host: {host} -> {raw.Split('\r')[0]}");
        }

        Assert.DoesNotContain(await gateway.LogLinesAsync(), l => l.Contains("failed inside the gateway", StringComparison.Ordinal));
        Assert.All(gateway.Host.State.Backends.Values, backend => Assert.Equal(0, backend.Errors));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task What_a_client_has_seen_is_already_counted_by_the_breaker(bool http1)
    {
        await using var failing = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return context.Response.WriteAsync("backend says no");
        });
        var routes = string.Concat(Enumerable.Range(0, 20).Select(i => $"  - {{id: r{i}, path: /r{i}, backend: \"{failing.Url}/b{i}\"}}\n"));
        await using var gateway = await TestGateway.StartAsync(
            "circuit_breaker: {failure_threshold: 3, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}\nroutes:\n" + routes, http1FastPath: http1);
        for (var i = 0; i < 20; i++)
        {
            for (var n = 0; n < 3; n++)
            {
                var seen = await gateway.Client.GetAsync($"/r{i}");
                Assert.Equal(HttpStatusCode.InternalServerError, seen.StatusCode);
                Assert.Equal("backend says no", await seen.Content.ReadAsStringAsync());
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync($"/r{i}")).StatusCode);
        }

        Assert.Equal(60, failing.Requests);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Transfer_codings_other_than_chunked_alone_get_501_and_lengths_that_are_not_plain_numbers_400(bool http1)
    {
        await using var a = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Resilient(a.Url, a.Url), http1FastPath: http1);
        foreach (var coding in new[] { "gzip, chunked", "chunked, chunked", "identity, chunked", "deflate,chunked" })
        {
            var raw = await gateway.SendRawAsync($"POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {coding}\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
            Assert.True(raw.StartsWith("HTTP/1.1 501", StringComparison.Ordinal), $"{coding} -> {raw.Split('\r')[0]}");
        }

        foreach (var coding in new[] { "gzip", "chunked, gzip" })
        {
            // A last coding other than chunked leaves the body without an end: 400 (RFC 9112 section 6.3).
            var raw = await gateway.SendRawAsync($"POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {coding}\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
            Assert.True(raw.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), $"{coding} -> {raw.Split('\r')[0]}");
        }

        // Kestrel's HTTP/1.1 layer reads "+5" as 5 before the gateway sees the header (it then frames and forwards exactly
        // 5 bytes with a plain Content-Length, so nothing is ambiguous downstream); the gateway's own codec refuses it.
        foreach (var length in new[] { "0x5", "5 5", "-5", "5,6" })
        {
            var raw = await gateway.SendRawAsync($"POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\nConnection: close\r\n\r\nhello");
            Assert.True(raw.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), $"Content-Length: {length} -> {raw.Split('\r')[0]}");
        }

        var chunked = await gateway.SendRawAsync("POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", chunked, StringComparison.Ordinal);
        Assert.Equal(1, a.Requests);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Client_address_headers_pass_only_from_trusted_proxies_and_look_alikes_of_gateway_headers_never(bool http1)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var routes = $$$"""
            auth:
              api_key: {keys: {"sk_test_key_000000000001": tester}}
            routes:
              - {path: /open, backend: "{{{backend.Url}}}"}
              - {path: /keyed, backend: "{{{backend.Url}}}", auth: {required: true}}
            """;
        await using var untrusted = await TestGateway.StartAsync(routes, http1FastPath: http1);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/keyed");
        var proxyOnly = new[]
        {
            "X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "X-Client-IP", "X-Forwarded-Port", "X-Forwarded-Prefix",
            "X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Original-URL", "X-Rewrite-URL", "Front-End-Https",
        };
        foreach (var name in proxyOnly)
        {
            request.Headers.TryAddWithoutValidation(name, "203.0.113.9");
        }

        request.Headers.TryAddWithoutValidation("X-API-Key", "sk_test_key_000000000001");
        request.Headers.TryAddWithoutValidation("X_API_Key", "smuggled");
        request.Headers.TryAddWithoutValidation("X_Forwarded_For", "203.0.113.9");
        request.Headers.TryAddWithoutValidation("X_User_Id", "admin");
        request.Headers.TryAddWithoutValidation("X_Custom", "kept");
        var echo = await EchoedRequest.ReadAsync(await untrusted.Client.SendAsync(request));
        foreach (var name in proxyOnly.Concat(["X_API_Key", "X_Forwarded_For", "X_User_Id"]))
        {
            Assert.Null(echo.Header(name));
        }

        Assert.Equal("kept", echo.Header("X_Custom"));
        Assert.Equal("127.0.0.1", echo.Header("X-Forwarded-For"));

        await using var trusted = await TestGateway.StartAsync("server:\n  host: 127.0.0.1\n  port: 0\n  trusted_proxies: [127.0.0.1/32]\n" + routes, http1FastPath: http1);
        using var fromProxy = new HttpRequestMessage(HttpMethod.Get, "/open");
        fromProxy.Headers.TryAddWithoutValidation("X-Real-IP", "203.0.113.9");
        Assert.Equal("203.0.113.9", (await EchoedRequest.ReadAsync(await trusted.Client.SendAsync(fromProxy))).Header("X-Real-IP"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Trace_and_connect_are_refused_unless_a_route_lists_them(bool http1)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /any, backend: "{{{backend.Url}}}"}
              - {path: /listed, backend: "{{{backend.Url}}}", methods: [GET, TRACE]}
            """, http1FastPath: http1);
        using var trace = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Trace, "/any") { Headers = { { "Cookie", "session=secret" } } });
        Assert.Equal(HttpStatusCode.MethodNotAllowed, trace.StatusCode);
        Assert.Equal("DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT", string.Join(", ", trace.Content.Headers.Allow));
        var connect = await gateway.SendRawAsync("CONNECT /any HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.True(connect.StartsWith("HTTP/1.1 405", StringComparison.Ordinal) || connect.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), connect.Split('\r')[0]);
        Assert.Equal(0, backend.Requests);
        using var listed = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Trace, "/listed"));
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task A_header_regex_that_runs_out_of_time_is_no_match_logged_once_and_never_a_500()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {id: picky, path: /p, backend: "{{{backend.Url}}}", headers: {X-Probe: {regex: "(a+)+$"} } }
              - {id: fallback, path: /p, mock: {status: 204}}
            """);
        var hostile = new string('a', 40) + "!";
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/p") { Headers = { { "X-Probe", hostile } } };
            Assert.Equal(HttpStatusCode.NoContent, (await gateway.Client.SendAsync(request)).StatusCode);
        }

        var lines = await gateway.LogLinesAsync(l => l.Count(x => x.Contains("\"type\":\"access\"", StringComparison.Ordinal)) >= 3);
        Assert.Single(lines, l => l.Contains("ran out of match time", StringComparison.Ordinal));
        Assert.All(lines.Where(l => l.Contains("\"type\":\"access\"", StringComparison.Ordinal)), l =>
        {
            using var entry = JsonDocument.Parse(l);
            Assert.Equal("/p", entry.RootElement.GetProperty("path").GetString());
            Assert.Equal("fallback", entry.RootElement.GetProperty("route").GetString());
        });
        Assert.Equal(0, backend.Requests);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Header_limits_count_lines_and_fragments_are_refused(bool http1)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(
            "server:\n  host: 127.0.0.1\n  port: 0\n  limits: {max_headers: 20}\nroutes:\n  - {path: \"/*rest\", backend: \"" + backend.Url + "\"}\n", http1FastPath: http1);
        var lines = string.Concat(Enumerable.Repeat("X-A: v\r\n", 25));
        var many = await gateway.SendRawAsync($"GET /x HTTP/1.1\r\nHost: t\r\n{lines}Connection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431", many, StringComparison.Ordinal);
        var fragment = await gateway.SendRawAsync("GET /x?b#c?d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400", fragment, StringComparison.Ordinal);
        Assert.Equal(0, backend.Requests);
        var odd = await gateway.SendRawAsync("GET /x?x=%2&y=%zz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.Equal("/x?x=%2&y=%zz", EchoedRequest.Parse(odd).Target);
    }
}
