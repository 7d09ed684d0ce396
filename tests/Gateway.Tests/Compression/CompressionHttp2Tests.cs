using System.Net;
using static Gateway.Tests.Compression.CompressionSupport;

namespace Gateway.Tests.Compression;

/// <summary>Compression over HTTP/2 (h2c), where Kestrel's HTTP layer carries the request and YARP forwards it.</summary>
public sealed class CompressionHttp2Tests
{
    private static string Config(string backend) => "server:\n  host: 127.0.0.1\n  port: 0\n  http2: true\n" + Route(backend);

    [Theory]
    [InlineData("gzip", false)]
    [InlineData("gzip", true)]
    [InlineData("br", false)]
    [InlineData("br", true)]
    [InlineData("zstd", false)]
    [InlineData("zstd", true)]
    public async Task Each_coding_decodes_to_exactly_the_backends_body_over_http2(string coding, bool chunked)
    {
        var body = Body(2_000_000);
        await using var backend = await StartAsync(body, chunked);
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await GetAsync(client, $"http://127.0.0.1:{gateway.Port}/api/data", coding);

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(coding, ContentEncoding(response));
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.Contains("Accept-Encoding", Vary(response));
        var encoded = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body, Decode(coding, encoded));
        var line = await Logging.AccessLines.JsonForAsync(gateway, response);
        Assert.Equal(encoded.Length, line.GetProperty("bytes_out").GetInt64());
    }

    [Fact]
    public async Task Short_bodies_and_mock_answers_over_http2()
    {
        var body = Body(500);
        await using var backend = await StartAsync(body, chunked: false);
        var large = new string('q', 5000);
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url) + $"\n  - {{path: /mock, mock: {{status: 200, body: \"{large}\"}}}}\n");
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var small = await GetAsync(client, $"http://127.0.0.1:{gateway.Port}/api/data", "br");
        Assert.Null(ContentEncoding(small));
        Assert.Equal(body, await small.Content.ReadAsByteArrayAsync());

        using var mock = await GetAsync(client, $"http://127.0.0.1:{gateway.Port}/mock", "br");
        Assert.Equal("br", ContentEncoding(mock));
        Assert.Equal(large, System.Text.Encoding.UTF8.GetString(Decode("br", await mock.Content.ReadAsByteArrayAsync())));
    }

    [Fact]
    public async Task A_backend_that_dies_mid_body_resets_the_http2_stream()
    {
        using var backend = RawBackend.ResetMidBody();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await GetAsync(client, $"http://127.0.0.1:{gateway.Port}/api/data", "gzip");
        Assert.Equal("gzip", ContentEncoding(response));
        await Assert.ThrowsAnyAsync<Exception>(async () => Decode("gzip", await response.Content.ReadAsByteArrayAsync()));
    }
}
