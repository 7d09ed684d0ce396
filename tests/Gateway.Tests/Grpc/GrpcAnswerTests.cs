using System.Net;
using System.Net.Http.Headers;

namespace Gateway.Tests.Grpc;

/// <summary>
/// The gateway's own errors to gRPC clients are gRPC statuses in a trailers-only response, and a client's
/// <c>grpc-timeout</c> shortens the route's timeout.
/// </summary>
public sealed class GrpcAnswerTests
{
    private static async Task<HttpResponseMessage> CallAsync(TestGateway gateway, string path, string contentType = "application/grpc", Version? version = null,
        params (string Name, string Value)[] headers)
    {
        using var client = new HttpClient();
        var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{gateway.Port}{path}")
        {
            Version = version ?? HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            // One empty gRPC message: the compressed flag and a zero length.
            Content = new ByteArrayContent(new byte[5]),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.ParseAdd("trailers");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await client.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values) : null;

    [Fact]
    public async Task Gateway_errors_reach_grpc_clients_as_grpc_statuses_and_other_clients_as_problem_documents()
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3), context.RequestAborted);
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, http2: true}
            auth:
              api_key: {keys: {"grpc-key-0123456789": client}}
            routes:
              - {path: /greet.Greeter/*method, backend: "{{{backend.Url}}}", auth: {required: true, methods: [apikey]},
                 rate_limit: [{dimension: api_key, requests: 1, window_secs: 60}], timeout_secs: 20}
            """);

        using (var unauthenticated = await CallAsync(gateway, "/greet.Greeter/SayHello"))
        {
            Assert.Equal(HttpStatusCode.OK, unauthenticated.StatusCode);
            Assert.Equal("application/grpc", unauthenticated.Content.Headers.ContentType?.MediaType);
            Assert.Equal("16", Header(unauthenticated, "grpc-status"));
            Assert.NotNull(Header(unauthenticated, "grpc-message"));
            Assert.Empty(await unauthenticated.Content.ReadAsByteArrayAsync());
        }

        // The client's deadline is shorter than the backend takes: DEADLINE_EXCEEDED long before the route's 20 s.
        using (var late = await CallAsync(gateway, "/greet.Greeter/SayHello", headers: [("X-API-Key", "grpc-key-0123456789"), ("grpc-timeout", "300m")]))
        {
            Assert.Equal("4", Header(late, "grpc-status"));
        }

        using (var limited = await CallAsync(gateway, "/greet.Greeter/SayHello", headers: [("X-API-Key", "grpc-key-0123456789")]))
        {
            Assert.Equal("8", Header(limited, "grpc-status"));
            Assert.NotNull(Header(limited, "Retry-After"));
        }

        using (var unknown = await CallAsync(gateway, "/other.Service/Call", "application/grpc+proto"))
        {
            Assert.Equal("12", Header(unknown, "grpc-status"));
            Assert.Equal("application/grpc+proto", unknown.Content.Headers.ContentType?.MediaType);
        }

        // A plain client is answered as before.
        using var plain = await CallAsync(gateway, "/other.Service/Call", "application/json");
        Assert.Equal(HttpStatusCode.NotFound, plain.StatusCode);
        Assert.Equal("application/problem+json", plain.Content.Headers.ContentType?.MediaType);
        Assert.Null(Header(plain, "grpc-status"));
    }

    [Fact]
    public async Task A_grpc_web_client_on_http11_gets_its_status_in_the_head_too()
    {
        await using var gateway = await TestGateway.StartAsync("""
            routes:
              - {path: /greet.Greeter/*method, mock: {status: 200, body: ""}, methods: [GET]}
            """);
        using var response = await CallAsync(gateway, "/greet.Greeter/SayHello", "application/grpc-web-text", HttpVersion.Version11);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("12", Header(response, "grpc-status"));
        Assert.Equal("application/grpc-web-text", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("100m", 100)]
    [InlineData("2S", 2000)]
    [InlineData("1M", 60000)]
    [InlineData("5000u", 5)]
    [InlineData("99999999n", 99)]
    public void Grpc_timeouts_parse_in_every_unit(string text, int milliseconds)
    {
        Assert.True(Gateway.Grpc.GrpcDeadline.TryParse(text, out var deadline));
        Assert.Equal(milliseconds, (int)deadline.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("100")]
    [InlineData("m")]
    [InlineData("123456789S")]
    [InlineData("-1S")]
    [InlineData("1x")]
    [InlineData("1.5S")]
    public void Malformed_grpc_timeouts_are_ignored(string text) => Assert.False(Gateway.Grpc.GrpcDeadline.TryParse(text, out _));
}
