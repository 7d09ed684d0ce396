using System.Net;

namespace Gateway.Tests.Routing;

/// <summary>
/// Review finding: a route with <c>websocket</c> limits refuses upgrades only when the request carries an
/// <c>Upgrade</c> header. WebSockets over HTTP/2 (RFC 8441, extended CONNECT with <c>:protocol: websocket</c>) carry
/// none, so on an h2c listener such a request passes the fail-closed check and is forwarded as an upgrade.
/// </summary>
public sealed class WebSocketFailClosedTests
{
    [Fact]
    public async Task An_http2_extended_connect_websocket_on_a_route_with_websocket_limits_is_refused()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            server:
              host: 127.0.0.1
              port: 0
              http2: true
            routes:
              - {path: /ws, methods: [GET, CONNECT], backend: "{{{backend.Url}}}", websocket: {idle_timeout_secs: 60} }
            """);
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Connect, $"http://127.0.0.1:{gateway.Port}/ws")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Protocol = "websocket";
        request.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        // The upgrade must not reach the backend at all, whatever status the client is given.
        Assert.Equal(0, backend.Requests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }
}
