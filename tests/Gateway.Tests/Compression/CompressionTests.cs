using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using static Gateway.Tests.Compression.CompressionSupport;

namespace Gateway.Tests.Compression;

/// <summary>Response compression through the real gateway and real backends, on whichever HTTP/1.1 codec the suite runs.</summary>
public sealed class CompressionTests
{
    [Theory]
    [InlineData("gzip", false, 4_000)]
    [InlineData("gzip", true, 4_000)]
    [InlineData("gzip", false, 3_000_000)]
    [InlineData("gzip", true, 3_000_000)]
    [InlineData("br", false, 4_000)]
    [InlineData("br", true, 4_000)]
    [InlineData("br", false, 3_000_000)]
    [InlineData("br", true, 3_000_000)]
    [InlineData("zstd", false, 4_000)]
    [InlineData("zstd", true, 4_000)]
    [InlineData("zstd", false, 3_000_000)]
    [InlineData("zstd", true, 3_000_000)]
    public async Task Each_coding_decodes_to_exactly_the_backends_body(string coding, bool chunked, int size)
    {
        var body = Body(size);
        await using var backend = await StartAsync(body, chunked);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", coding);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(coding, ContentEncoding(response));
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.Contains("Accept-Encoding", Vary(response));
        var encoded = await response.Content.ReadAsByteArrayAsync();
        Assert.True(encoded.Length < body.Length / 2, $"{encoded.Length} bytes for {body.Length}");
        Assert.Equal(body, Decode(coding, encoded));

        // The access log counts the bytes that went out, not the backend's.
        var line = await Logging.AccessLines.JsonForAsync(gateway, response);
        Assert.Equal(encoded.Length, line.GetProperty("bytes_out").GetInt64());
    }

    [Theory]
    [InlineData("gzip, deflate, br, zstd", "zstd")]
    [InlineData("gzip, br", "br")]
    [InlineData("GZIP", "gzip")]
    [InlineData("x-gzip", "gzip")]
    [InlineData("br;q=0.5, gzip;q=0.9", "gzip")]
    [InlineData("br;Q=1, gzip;q=0.9", "br")]
    [InlineData("zstd;q=0, br;q=0, gzip", "gzip")]
    [InlineData("gzip;q=0", null)]
    [InlineData("*;q=0", null)]
    [InlineData("*", "zstd")]
    [InlineData("br;q=0, *", "zstd")]
    [InlineData("zstd;q=0, *;q=0.1", "br")]
    [InlineData("identity", null)]
    [InlineData("gzip;q=0.5, identity", null)]
    [InlineData("gzip;q=0.5, identity;q=0.1", "gzip")]
    [InlineData("", null)]
    [InlineData("gzip;q=2, br;q=abc, zstd;level=3", null)]
    [InlineData("deflate, compress", null)]
    public async Task The_coding_follows_the_clients_weights_then_the_gateways_preference(string acceptEncoding, string? expected)
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", acceptEncoding);

        Assert.Equal(expected, ContentEncoding(response));
        Assert.Contains("Accept-Encoding", Vary(response));
        var received = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body, expected is null ? received : Decode(expected, received));
        if (expected is null)
        {
            Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        }
    }

    [Fact]
    public async Task A_request_without_accept_encoding_gets_the_body_as_is_with_vary()
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: true);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", null);
        Assert.Null(ContentEncoding(response));
        Assert.Equal(["Accept-Encoding"], Vary(response));
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_body_the_backend_encoded_is_never_encoded_again()
    {
        var body = Body(20_000);
        var gzipped = new MemoryStream();
        await using (var encoder = new System.IO.Compression.GZipStream(gzipped, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            await encoder.WriteAsync(body);
        }

        await using var backend = await StartAsync(gzipped.ToArray(), chunked: false, headers: r => r.Headers.ContentEncoding = "gzip");
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", "br, zstd, gzip");
        Assert.Equal("gzip", ContentEncoding(response));
        Assert.Equal(gzipped.ToArray(), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(body, Decode("gzip", gzipped.ToArray()));
    }

    [Fact]
    public async Task An_event_stream_is_not_compressed_and_its_events_arrive_one_by_one()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = false;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n" + new string(':', 2000) + "\n\n");
            await context.Response.Body.FlushAsync();
            await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await context.Response.WriteAsync("data: second\n\n");
            finished = true;
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url, "compression: {types: [text/*]}"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, br, zstd");
        using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Null(ContentEncoding(response));
        await using var stream = await response.Content.ReadAsStreamAsync();
        var reader = new StreamReader(stream);
        Assert.Equal("data: first", await reader.ReadLineAsync());
        Assert.False(finished);
        release.SetResult();
        Assert.Equal("", await reader.ReadLineAsync());
        await reader.ReadLineAsync();
        await reader.ReadLineAsync();
        Assert.Equal("data: second", await reader.ReadLineAsync());
    }

    [Fact]
    public async Task Head_gets_the_encoding_and_vary_but_no_body()
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", "gzip", HttpMethod.Head);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", ContentEncoding(response));
        Assert.Contains("Accept-Encoding", Vary(response));
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData(204, null)]
    [InlineData(206, "bytes 0-3999/9000")]
    [InlineData(200, "bytes 0-3999/9000")]
    public async Task No_content_and_ranges_are_never_compressed(int status, string? contentRange)
    {
        var body = Body(4_000);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.StatusCode = status;
            if (status == 204)
            {
                return;
            }

            context.Response.ContentType = "application/json";
            context.Response.Headers.ContentRange = contentRange;
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", "gzip, br");
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Null(ContentEncoding(response));
        Assert.DoesNotContain("Accept-Encoding", Vary(response));
        Assert.Equal(status == 204 ? [] : body, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Not_modified_carries_vary_and_the_weak_tag_the_compressed_representation_has()
    {
        var body = Body(4_000);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.Headers.ETag = "\"v1\"";
            if (context.Request.Headers.IfNoneMatch.Count > 0)
            {
                context.Response.StatusCode = 304;
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(body);
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var full = await GetAsync(gateway.Client, "/api/data", "gzip");
        Assert.Equal("W/\"v1\"", full.Headers.ETag!.ToString());
        Assert.Equal(body, Decode("gzip", await full.Content.ReadAsByteArrayAsync()));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/data");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        request.Headers.TryAddWithoutValidation("If-None-Match", "W/\"v1\"");
        using var notModified = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Null(ContentEncoding(notModified));
        Assert.Contains("Accept-Encoding", Vary(notModified));
        Assert.Equal("W/\"v1\"", notModified.Headers.ETag!.ToString());
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_strong_tag_is_kept_when_the_body_goes_out_as_is()
    {
        await using var backend = await StartAsync(Body(4_000), chunked: false, headers: r => r.Headers.ETag = "\"v1\"");
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", "identity");
        Assert.Equal("\"v1\"", response.Headers.ETag!.ToString());
    }

    [Theory]
    [InlineData("application/json", 1023, "compression: {}", false)]
    [InlineData("application/json", 1024, "compression: {}", true)]
    [InlineData("application/json", 100, "compression: {min_bytes: 0}", true)]
    [InlineData("image/png", 50_000, "compression: {}", false)]
    [InlineData("application/octet-stream", 50_000, "compression: {}", false)]
    [InlineData("text/html; charset=utf-8", 50_000, "compression: {}", true)]
    [InlineData("application/problem+json", 50_000, "compression: {}", true)]
    [InlineData("image/svg+xml", 50_000, "compression: {}", true)]
    [InlineData("application/atom+xml", 50_000, "compression: {}", true)]
    [InlineData("text/javascript", 50_000, "compression: {}", true)]
    [InlineData("application/javascript", 50_000, "compression: {}", true)]
    [InlineData("text/html", 50_000, "compression: {types: [application/json]}", false)]
    [InlineData("APPLICATION/JSON", 50_000, "compression: {types: [application/json]}", true)]
    [InlineData("application/vnd.api+json", 50_000, "compression: {types: [\"*/*+json\"]}", true)]
    [InlineData("application/json", 50_000, "compression: {enabled: false}", false)]
    public async Task Types_and_known_lengths_decide_which_bodies_are_compressed(string contentType, int size, string compression, bool compressed)
    {
        var body = Body(size);
        await using var backend = await StartAsync(body, chunked: false, contentType);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url, compression));
        using var response = await GetAsync(gateway.Client, "/api/data", "gzip");
        Assert.Equal(compressed ? "gzip" : null, ContentEncoding(response));
        Assert.Equal(compressed, Vary(response).Contains("Accept-Encoding"));
        var received = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body, compressed ? Decode("gzip", received) : received);
    }

    [Fact]
    public async Task A_chunked_body_is_compressed_whatever_its_size()
    {
        var body = Body(100);
        await using var backend = await StartAsync(body, chunked: true);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", "br");
        Assert.Equal("br", ContentEncoding(response));
        Assert.Equal(body, Decode("br", await response.Content.ReadAsByteArrayAsync()));
    }

    [Theory]
    [InlineData("no-transform")]
    [InlineData("public, max-age=60, No-Transform")]
    public async Task No_transform_keeps_the_body_as_is(string cacheControl)
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false, headers: r => r.Headers.CacheControl = cacheControl);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", "gzip");
        Assert.Null(ContentEncoding(response));
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("Origin", new[] { "Origin", "Accept-Encoding" })]
    [InlineData("accept-encoding", new[] { "accept-encoding" })]
    [InlineData("Origin, Accept-Encoding", new[] { "Origin", "Accept-Encoding" })]
    [InlineData("*", new[] { "*" })]
    public async Task Vary_is_merged_with_the_backends_without_duplicates(string backendVary, string[] expected)
    {
        await using var backend = await StartAsync(Body(4_000), chunked: false, headers: r => r.Headers.Vary = backendVary);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", "gzip");
        Assert.Equal("gzip", ContentEncoding(response));
        Assert.Equal(expected, Vary(response));
    }

    [Fact]
    public async Task Accept_ranges_is_dropped_from_a_compressed_response()
    {
        await using var backend = await StartAsync(Body(4_000), chunked: false, headers: r => r.Headers.AcceptRanges = "bytes");
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var compressed = await GetAsync(gateway.Client, "/api/data", "gzip");
        Assert.False(compressed.Headers.Contains("Accept-Ranges"));
        using var plain = await GetAsync(gateway.Client, "/api/data", null);
        Assert.True(plain.Headers.Contains("Accept-Ranges"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_backend_that_dies_mid_body_never_gives_a_complete_looking_compressed_body(bool chunked)
    {
        var head = chunked
            ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n1388\r\n"
            : "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n";
        using var backend = RawBackend.Custom(async socket =>
        {
            var buffer = new byte[8192];
            await socket.ReceiveAsync(buffer);
            await socket.SendAsync(Encoding.ASCII.GetBytes(head + new string('x', 5000)));
            await Task.Delay(200);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        foreach (var coding in new[] { "gzip", "br", "zstd" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/data");
            request.Headers.TryAddWithoutValidation("Accept-Encoding", coding);
            using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(coding, ContentEncoding(response));
            await Assert.ThrowsAnyAsync<Exception>(async () => Decode(coding, await response.Content.ReadAsByteArrayAsync()));
        }
    }

    [Fact]
    public async Task Mock_answers_are_compressed_when_long_enough_and_the_gateways_errors_are_not()
    {
        var large = new string('m', 3000);
        await using var gateway = await TestGateway.StartAsync($$$"""
            compression: {}
            routes:
              - {path: /small, mock: {status: 200, body: "hello"}}
              - {path: /large, mock: {status: 200, headers: {Content-Type: text/html}, body: "{{{large}}}"}}
              - {path: /only-get, methods: [GET], mock: {status: 200, body: "{{{large}}}"}}
            """);
        using var small = await GetAsync(gateway.Client, "/small", "gzip");
        Assert.Null(ContentEncoding(small));
        Assert.Equal("hello", await small.Content.ReadAsStringAsync());

        using var compressed = await GetAsync(gateway.Client, "/large", "gzip");
        Assert.Equal("gzip", ContentEncoding(compressed));
        Assert.Equal(large, Encoding.UTF8.GetString(Decode("gzip", await compressed.Content.ReadAsByteArrayAsync())));

        using var head = await GetAsync(gateway.Client, "/large", "gzip", HttpMethod.Head);
        Assert.Equal("gzip", ContentEncoding(head));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        // The gateway's own problem documents (405 here: the route's path matched) are short: sent as they are.
        using var refused = await GetAsync(gateway.Client, "/only-get", "gzip", HttpMethod.Post);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, refused.StatusCode);
        Assert.Null(ContentEncoding(refused));
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(405, problem.GetProperty("status").GetInt32());

        using var notFound = await GetAsync(gateway.Client, "/nowhere", "gzip");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Null(ContentEncoding(notFound));
    }

    [Fact]
    public async Task A_routes_block_replaces_the_global_one()
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false, "text/plain");
        await using var gateway = await TestGateway.StartAsync($$$"""
            compression: {types: [application/json]}
            routes:
              - {id: off, path: /off/*rest, backend: "{{{backend.Url}}}", compression: {enabled: false}}
              - {id: text, path: /text/*rest, backend: "{{{backend.Url}}}", compression: {types: [text/plain]}}
              - {id: global, path: /global/*rest, backend: "{{{backend.Url}}}"}
            """);
        using var off = await GetAsync(gateway.Client, "/off/x", "gzip");
        Assert.Null(ContentEncoding(off));
        using var text = await GetAsync(gateway.Client, "/text/x", "gzip");
        Assert.Equal("gzip", ContentEncoding(text));
        using var global = await GetAsync(gateway.Client, "/global/x", "gzip");
        Assert.Null(ContentEncoding(global));
    }

    [Fact]
    public async Task Keep_alive_connections_carry_compressed_and_plain_responses_in_turn()
    {
        var body = Body(50_000);
        await using var backend = await StartAsync(body, chunked: false);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        for (var i = 0; i < 6; i++)
        {
            var coding = new[] { "gzip", null, "br", "zstd" }[i % 4];
            using var response = await GetAsync(gateway.Client, "/api/data", coding);
            Assert.Equal(coding, ContentEncoding(response));
            var received = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(body, coding is null ? received : Decode(coding, received));
        }
    }
}
