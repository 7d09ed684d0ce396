using System.Net;
using Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Cors;

/// <summary>CORS on the wire: exact origins, preflights answered by the gateway, Vary, and the gateway owning the headers.</summary>
public sealed class CorsTests
{
    private static async Task<HttpResponseMessage> SendAsync(TestGateway gateway, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await gateway.Client.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : null;

    private static Task<TestGateway> StartAsync(TestBackend backend, string cors, string extra = "") => TestGateway.StartAsync($$$"""
        routes:
          - path: /api/*rest
            backend: "{{{backend.Url}}}"
            methods: [GET, PUT, DELETE]
            cors: {{{cors}}}
        {{{extra}}}
        """);

    private const string Credentialed = "{allowed_origins: ['https://app.example.com', 'http://localhost:3000'], allowed_methods: [GET, PUT], allowed_headers: [Content-Type, X-Trace], exposed_headers: [X-Request-Id], allow_credentials: true, max_age_secs: 600}";

    [Fact]
    public async Task An_allowed_origin_gets_the_allow_headers_and_every_response_varies_by_origin()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, Credentialed);
        using var allowed = await SendAsync(gateway, HttpMethod.Get, "/api/x", ("Origin", "https://app.example.com"));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("https://app.example.com", Header(allowed, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(allowed, "Access-Control-Allow-Credentials"));
        Assert.Equal("X-Request-Id", Header(allowed, "Access-Control-Expose-Headers"));
        Assert.Contains("Origin", Header(allowed, "Vary"), StringComparison.Ordinal);

        using var without = await SendAsync(gateway, HttpMethod.Get, "/api/x");
        Assert.Null(Header(without, "Access-Control-Allow-Origin"));
        Assert.Contains("Origin", Header(without, "Vary"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://evil.com")]
    [InlineData("null")]
    [InlineData("https://app.example.com.evil.com")]
    [InlineData("https://evilapp.example.com")]
    [InlineData("https://app.example.co")]
    [InlineData("http://app.example.com")]
    [InlineData("https://app.example.com:8443")]
    [InlineData("https://app.example.com/")]
    [InlineData("https://user@app.example.com")]
    [InlineData("https://app.example.com, https://evil.com")]
    [InlineData("")]
    public async Task Origin_tricks_get_no_allow_headers_and_are_still_served(string origin)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, Credentialed);
        using var response = await SendAsync(gateway, HttpMethod.Get, "/api/x", ("Origin", origin));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
        Assert.Contains("Origin", Header(response, "Vary"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_preflight_is_answered_by_the_gateway_and_never_forwarded()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, Credentialed);
        using var preflight = await SendAsync(gateway, HttpMethod.Options, "/api/x",
            ("Origin", "http://localhost:3000"), ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "content-type, x-trace"));
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("http://localhost:3000", Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Equal("PUT", Header(preflight, "Access-Control-Allow-Methods"));
        Assert.Equal("content-type, x-trace", Header(preflight, "Access-Control-Allow-Headers"));
        Assert.Equal("600", Header(preflight, "Access-Control-Max-Age"));
        Assert.Equal("true", Header(preflight, "Access-Control-Allow-Credentials"));
        var vary = Header(preflight, "Vary")!;
        Assert.Contains("Origin", vary, StringComparison.Ordinal);
        Assert.Contains("Access-Control-Request-Method", vary, StringComparison.Ordinal);
        Assert.Equal(0, backend.Requests);
    }

    [Theory]
    [InlineData("https://evil.com", "PUT", null)]
    [InlineData("https://app.example.com", "DELETE", null)]
    [InlineData("https://app.example.com", "PUT", "x-secret")]
    [InlineData("https://app.example.com", "PUT", "content-type, x-secret")]
    public async Task A_preflight_outside_the_policy_is_refused_without_allow_headers(string origin, string method, string? headers)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, Credentialed);
        var sent = new List<(string, string)> { ("Origin", origin), ("Access-Control-Request-Method", method) };
        if (headers is not null)
        {
            sent.Add(("Access-Control-Request-Headers", headers));
        }

        using var preflight = await SendAsync(gateway, HttpMethod.Options, "/api/x", [.. sent]);
        Assert.Equal(HttpStatusCode.Forbidden, preflight.StatusCode);
        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Null(Header(preflight, "Access-Control-Allow-Methods"));
        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task The_gateway_replaces_a_backend_s_own_cors_headers()
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.Headers["Access-Control-Allow-Origin"] = "*";
            context.Response.Headers["Access-Control-Allow-Credentials"] = "true";
            context.Response.Headers["Vary"] = "Accept-Encoding";
            await context.Response.WriteAsync("ok");
        });
        await using var gateway = await StartAsync(backend, Credentialed);
        using var evil = await SendAsync(gateway, HttpMethod.Get, "/api/x", ("Origin", "https://evil.com"));
        Assert.Null(Header(evil, "Access-Control-Allow-Origin"));
        Assert.Null(Header(evil, "Access-Control-Allow-Credentials"));
        Assert.Equal("Accept-Encoding, Origin", Header(evil, "Vary"));
    }

    [Fact]
    public async Task A_wildcard_without_credentials_answers_star_to_every_origin()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, "{allowed_origins: ['*'], allowed_methods: ['*'], allowed_headers: ['*']}");
        using var response = await SendAsync(gateway, HttpMethod.Get, "/api/x", ("Origin", "https://anyone.example"));
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
        // Still Vary: Origin (a request without an Origin, or with null, gets no allow header).
        Assert.Contains("Origin", Header(response, "Vary"), StringComparison.Ordinal);

        using var nullOrigin = await SendAsync(gateway, HttpMethod.Get, "/api/x", ("Origin", "null"));
        Assert.Null(Header(nullOrigin, "Access-Control-Allow-Origin"));

        using var preflight = await SendAsync(gateway, HttpMethod.Options, "/api/x",
            ("Origin", "https://anyone.example"), ("Access-Control-Request-Method", "DELETE"), ("Access-Control-Request-Headers", "x-anything"));
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("DELETE", Header(preflight, "Access-Control-Allow-Methods"));
        Assert.Equal("x-anything", Header(preflight, "Access-Control-Allow-Headers"));
    }

    [Fact]
    public async Task Null_passes_only_when_listed()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, "{allowed_origins: ['null']}");
        using var response = await SendAsync(gateway, HttpMethod.Get, "/api/x", ("Origin", "null"));
        Assert.Equal("null", Header(response, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_route_s_cors_replaces_the_global_one_and_the_global_one_covers_the_rest()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            cors: {allowed_origins: ['https://global.example']}
            routes:
              - {path: /open, backend: "{{{backend.Url}}}"}
              - {path: /own, backend: "{{{backend.Url}}}", cors: {allowed_origins: ['https://own.example']} }
            """);
        using (var open = await SendAsync(gateway, HttpMethod.Get, "/open", ("Origin", "https://global.example")))
        {
            Assert.Equal("https://global.example", Header(open, "Access-Control-Allow-Origin"));
        }

        using (var own = await SendAsync(gateway, HttpMethod.Get, "/own", ("Origin", "https://global.example")))
        {
            Assert.Null(Header(own, "Access-Control-Allow-Origin"));
        }

        using var ownAllowed = await SendAsync(gateway, HttpMethod.Get, "/own", ("Origin", "https://own.example"));
        Assert.Equal("https://own.example", Header(ownAllowed, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task An_options_request_that_is_no_preflight_and_routes_without_cors_go_on_as_before()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /plain, backend: "{{{backend.Url}}}"}
            """);
        using var preflight = await SendAsync(gateway, HttpMethod.Options, "/plain", ("Origin", "https://a.example"), ("Access-Control-Request-Method", "PUT"));
        Assert.Equal(HttpStatusCode.OK, preflight.StatusCode);
        Assert.Equal(1, backend.Requests);
        Assert.Null(Header(preflight, "Vary"));
    }

    [Fact]
    public void A_wildcard_with_credentials_is_an_error()
    {
        var result = ConfigLoader.LoadText("cors: {allowed_origins: ['*'], allow_credentials: true}\nroutes: []\n", "test.yaml", Directory.GetCurrentDirectory());
        Assert.Contains(result.Errors, e => e.Path == "cors.allow_credentials");
    }

    [Fact]
    public async Task Explain_shows_a_preflight_answered_by_the_gateway_with_the_headers_it_sends()
    {
        var dir = Directory.CreateTempSubdirectory("gw-cors-explain-").FullName;
        try
        {
            var config = Path.Combine(dir, "gateway.yaml");
            await File.WriteAllTextAsync(config, """
                cors: {allowed_origins: ["https://app.example"], allowed_methods: [GET, PUT], allow_credentials: true}
                routes:
                  - {id: api, path: /api/*rest, backend: "http://127.0.0.1:3001"}
                """);
            var (code, explained, stderr) = await GatewayProcess.RunAsync(dir, "explain", config, "OPTIONS", "/api/x",
                "-H", "Origin: https://app.example", "-H", "Access-Control-Request-Method: PUT");
            Assert.True(code == 0, stderr);
            Assert.Contains("answer      204 No Content: a CORS preflight, answered by the gateway (never forwarded)", explained, StringComparison.Ordinal);
            Assert.Contains("  header    Access-Control-Allow-Origin: https://app.example", explained, StringComparison.Ordinal);
            Assert.Contains("  header    Access-Control-Allow-Methods: PUT", explained, StringComparison.Ordinal);
            Assert.DoesNotContain("upstream", explained, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
