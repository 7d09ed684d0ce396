using System.Net;
using System.Text;

namespace Gateway.Tests.Cors;

/// <summary>Security review of the CORS stage: each test states a property the feature must keep.</summary>
public sealed class CorsReviewTests
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

    /// <summary>
    /// A preflight carries no custom headers, so it never meets a route's header condition: it falls to another route
    /// and is answered by that route's policy, while the request it approves (which carries the header) reaches the
    /// conditioned route, whose policy refuses the origin. The preflight must not approve what the route refuses.
    /// </summary>
    [Fact]
    public async Task A_preflight_is_not_approved_by_a_route_the_real_request_does_not_reach()
    {
        await using var strict = await TestBackend.StartEchoAsync();
        await using var open = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api/*rest
                backend: "{{{strict.Url}}}"
                headers: {X-Tenant: admin}
                cors: {allowed_origins: ['https://admin.example.com'], allowed_methods: [GET, DELETE], allowed_headers: [X-Tenant], allow_credentials: true}
              - path: /api/*rest
                backend: "{{{open.Url}}}"
                cors: {allowed_origins: ['*'], allowed_methods: ['*'], allowed_headers: ['*']}
            """);
        using var preflight = await SendAsync(gateway, HttpMethod.Options, "/api/x",
            ("Origin", "https://evil.example"), ("Access-Control-Request-Method", "DELETE"), ("Access-Control-Request-Headers", "x-tenant"));

        // What the browser does next when the preflight passes: the DELETE lands on the strict route's backend.
        using var real = await SendAsync(gateway, HttpMethod.Delete, "/api/x", ("Origin", "https://evil.example"), ("X-Tenant", "admin"));
        Assert.Equal(1, strict.Requests);
        Assert.Null(Header(real, "Access-Control-Allow-Origin"));

        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
    }

    /// <summary>
    /// A preflight (OPTIONS + Origin + Access-Control-Request-Method) on a CORS route that accepts OPTIONS but not the
    /// method asked about is forwarded to the backend as a plain OPTIONS, with the allow-origin header added.
    /// README: "A preflight is never forwarded".
    /// </summary>
    [Theory]
    [InlineData("DELETE")]
    [InlineData("put")]
    [InlineData("TRACE")]
    public async Task A_preflight_for_a_method_the_route_refuses_never_reaches_the_backend(string method)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api/*rest
                backend: "{{{backend.Url}}}"
                methods: [GET, OPTIONS]
                cors: {allowed_origins: ['https://app.example.com'], allowed_methods: [GET]}
            """);
        using var preflight = await SendAsync(gateway, HttpMethod.Options, "/api/x",
            ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", method));
        Assert.Equal(0, backend.Requests);
        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
    }

    /// <summary>
    /// Under a wildcard without credentials the answer still depends on the origin: none (or <c>null</c>) gets no
    /// <c>Access-Control-Allow-Origin</c>, any other gets <c>*</c>. Without <c>Vary: Origin</c> a shared cache stores
    /// the header-less answer and serves it to every page, which the browser then blocks.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("null")]
    public async Task A_wildcard_response_is_the_same_for_every_origin_or_varies_by_it(string? origin)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /public/*rest
                backend: "{{{backend.Url}}}"
                cors: {allowed_origins: ['*']}
            """);
        using var response = origin is null
            ? await SendAsync(gateway, HttpMethod.Get, "/public/x")
            : await SendAsync(gateway, HttpMethod.Get, "/public/x", ("Origin", origin));
        Assert.True(Header(response, "Access-Control-Allow-Origin") == "*" || (Header(response, "Vary") ?? "").Contains("Origin", StringComparison.OrdinalIgnoreCase),
            $"ACAO={Header(response, "Access-Control-Allow-Origin")}, Vary={Header(response, "Vary")}: cacheable for every origin");
    }

    /// <summary>
    /// The asked-for headers are checked after a Unicode trim (NBSP passes) and echoed raw: the native codec writes the
    /// non-ASCII byte into the response head, Kestrel throws (500, error logged, no access-log line). Both must refuse.
    /// </summary>
    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_requested_header_that_is_no_token_is_refused_alike_on_both_codecs(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, $$$"""
            routes:
              - path: /api/*rest
                backend: "{{{backend.Url}}}"
                cors: {allowed_origins: ['https://app.example.com'], allowed_methods: ['*'], allowed_headers: ['*'], allow_credentials: true}
            """);
        using var client = await WireClient.ConnectAsync(gateway.Port);
        await client.SendAsync(Encoding.UTF8.GetBytes(
            "OPTIONS /api/x HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\n"
            + "Access-Control-Request-Headers: x-a\u00a0, x-b\r\n\r\n"));
        var response = await client.ReadAsync();
        Assert.Equal((int)HttpStatusCode.Forbidden, response.Status);
        Assert.Null(response.Header("Access-Control-Allow-Headers"));
        Assert.Equal(0, backend.Requests);
    }
}
