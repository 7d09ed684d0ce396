using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using static Gateway.Tests.Compression.CompressionSupport;

namespace Gateway.Tests.Compression;

/// <summary>Findings of the compression review, each through the real gateway and real loopback backends.</summary>
public sealed class CompressionReviewTests
{
    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : null;

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, url);
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>GETs until the cache answers (the entry is stored once the first response has gone out).</summary>
    private static async Task<HttpResponseMessage> HitAsync(HttpClient client, string url, params (string Name, string Value)[] headers)
    {
        for (var i = 0; ; i++)
        {
            var response = await SendAsync(client, HttpMethod.Get, url, headers);
            if (Header(response, "X-Cache-Status") == "HIT" || i == 100)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(20);
        }
    }

    // ---- 1: a 304 is decided as its 200 would be ----

    [Theory]
    [InlineData("image/png", false)]
    [InlineData("application/json", true)]
    public async Task A_not_modified_from_the_cache_is_decided_as_its_stored_200(string contentType, bool compressed)
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false, contentType, r =>
        {
            r.Headers.ETag = "\"img1\"";
            r.Headers.CacheControl = "max-age=60";
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            compression: {}
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}", cache: {enabled: true}}
            """);
        using var hit = await HitAsync(gateway.Client, "/c/x", ("Accept-Encoding", "gzip"));
        Assert.Equal("HIT", Header(hit, "X-Cache-Status"));
        Assert.Equal(compressed ? "gzip" : null, ContentEncoding(hit));
        var tag = compressed ? "W/\"img1\"" : "\"img1\"";
        Assert.Equal(tag, hit.Headers.ETag!.ToString());

        using var notModified = await SendAsync(gateway.Client, HttpMethod.Get, "/c/x", ("Accept-Encoding", "gzip"), ("If-None-Match", tag));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("HIT", Header(notModified, "X-Cache-Status"));
        Assert.Equal(tag, notModified.Headers.ETag!.ToString());
        Assert.Equal(compressed, Vary(notModified).Contains("Accept-Encoding"));
    }

    [Fact]
    public async Task A_backends_not_modified_with_a_type_never_compressed_keeps_its_strong_tag()
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.Headers.ETag = "\"img1\"";
            context.Response.ContentType = "image/png";
            if (context.Request.Headers.IfNoneMatch.Count > 0)
            {
                context.Response.StatusCode = 304;
                return;
            }

            await context.Response.Body.WriteAsync(Body(4_000));
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var notModified = await SendAsync(gateway.Client, HttpMethod.Get, "/api/x", ("Accept-Encoding", "gzip"), ("If-None-Match", "\"img1\""));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("\"img1\"", notModified.Headers.ETag!.ToString());
        Assert.DoesNotContain("Accept-Encoding", Vary(notModified));
    }

    // ---- 2: bounded encoder memory ----

    [Fact]
    public async Task Past_max_concurrent_a_response_goes_out_as_it_is_until_an_encoder_is_free()
    {
        var body = Body(8_000);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.ETag = "\"v1\"";
            if (context.Request.Path.StartsWithSegments("/api/slow"))
            {
                await context.Response.Body.WriteAsync(body.AsMemory(0, 4_000));
                await context.Response.Body.FlushAsync();
                await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
                await context.Response.Body.WriteAsync(body.AsMemory(4_000));
                return;
            }

            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url, "compression: {max_concurrent: 1}"));

        using var slow = await GetAsync(gateway.Client, "/api/slow", "gzip");
        Assert.Equal("gzip", ContentEncoding(slow));

        using var plain = await SendAsync(gateway.Client, HttpMethod.Get, "/api/fast", ("Accept-Encoding", "gzip"));
        Assert.Null(ContentEncoding(plain));
        Assert.Contains("Accept-Encoding", Vary(plain));
        Assert.Equal("\"v1\"", plain.Headers.ETag!.ToString());
        Assert.Equal(body.Length, plain.Content.Headers.ContentLength);
        Assert.Equal(body, await plain.Content.ReadAsByteArrayAsync());

        release.SetResult();
        Assert.Equal(body, Decode("gzip", await slow.Content.ReadAsByteArrayAsync()));

        using var again = await SendAsync(gateway.Client, HttpMethod.Get, "/api/fast", ("Accept-Encoding", "gzip"));
        Assert.Equal("gzip", ContentEncoding(again));
        Assert.Equal(body, Decode("gzip", await again.Content.ReadAsByteArrayAsync()));
    }

    [Theory]
    [InlineData("br")]
    [InlineData("zstd")]
    public async Task Brotli_and_zstd_encode_with_a_256_KiB_window(string coding)
    {
        var body = Body(600_000);
        await using var backend = await StartAsync(body, chunked: true);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", coding);
        Assert.Equal(coding, ContentEncoding(response));
        var encoded = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body, Decode(coding, encoded));
        if (coding == "br")
        {
            // RFC 7932 section 9.1: WBITS in the stream's first bits; 18 is 1, then 001.
            Assert.Equal(0b0011, encoded[0] & 0x0F);
        }
        else
        {
            // RFC 8878 section 3.1.1.1.2: a streamed frame has a window descriptor after its header descriptor.
            Assert.Equal(0, encoded[4] & 0x20);
            Assert.Equal(18, 10 + (encoded[5] >> 3));
            Assert.Equal(0, encoded[5] & 0x07);
        }
    }

    // ---- 3: If-Match with the tag of a compressed response ----

    [Fact]
    public async Task The_weak_tag_of_a_compressed_get_passes_a_backends_strong_if_match()
    {
        var body = Body(4_000);
        var seen = new List<string>();
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            if (HttpMethods.IsPut(context.Request.Method))
            {
                var ifMatch = context.Request.Headers.IfMatch.ToString();
                lock (seen)
                {
                    seen.Add(ifMatch);
                }

                // Strong comparison (RFC 9110 section 13.1.1): only the current strong tag itself matches.
                var matches = ifMatch.Split(',', StringSplitOptions.TrimEntries).Contains("\"v1\"");
                context.Response.StatusCode = matches ? 204 : 412;
                return;
            }

            context.Response.ContentType = "application/json";
            context.Response.Headers.ETag = "\"v1\"";
            await context.Response.Body.WriteAsync(body);
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var get = await SendAsync(gateway.Client, HttpMethod.Get, "/api/doc", ("Accept-Encoding", "gzip"));
        Assert.Equal("gzip", ContentEncoding(get));
        var tag = get.Headers.ETag!.ToString();
        Assert.Equal("W/\"v1\"", tag);

        using var put = await SendAsync(gateway.Client, HttpMethod.Put, "/api/doc", ("If-Match", tag));
        Assert.True(HttpStatusCode.NoContent == put.StatusCode, string.Join(" | ", seen));
        using var several = await SendAsync(gateway.Client, HttpMethod.Put, "/api/doc", ("If-Match", "\"v0\", W/\"a,W/x\", " + tag));
        Assert.Equal(HttpStatusCode.NoContent, several.StatusCode);
        using var stale = await SendAsync(gateway.Client, HttpMethod.Put, "/api/doc", ("If-Match", "W/\"v0\""));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(["\"v1\"", "\"v0\", \"a,W/x\", \"v1\"", "\"v0\""], seen);
    }

    // ---- 4: Accept-Encoding past its bounds ----

    public static TheoryData<string> OverlongAcceptEncodings() => new()
    {
        // 32 elements read, then the refusals: "*" alone would pick zstd.
        "*, " + string.Join(", ", Enumerable.Repeat("a", 31)) + ", zstd;q=0, br;q=0, gzip;q=0",
        // Cut at 2,048 characters inside "gzip;q=0", which would read as "gzip".
        "br;q=0.5," + new string(' ', 2048 - 9 - 4) + "gzip;q=0",
    };

    [Theory]
    [MemberData(nameof(OverlongAcceptEncodings))]
    public async Task An_accept_encoding_past_its_bounds_gets_the_body_as_it_is(string acceptEncoding)
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false);
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await GetAsync(gateway.Client, "/api/data", acceptEncoding);
        Assert.Null(ContentEncoding(response));
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
    }

    // ---- 5: empty bodies ----

    [Fact]
    public async Task An_empty_body_is_never_compressed_from_the_backend_the_cache_or_a_mock()
    {
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "max-age=60";
            context.Response.ContentLength = 0;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            compression: {}
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}", cache: {enabled: true}}
              - {path: /z/*rest, backend: "{{{backend.Url}}}", compression: {min_bytes: 0}}
              - path: /mock
                mock: {status: 200, headers: {Content-Type: application/json} }
            """);
        using var miss = await SendAsync(gateway.Client, HttpMethod.Get, "/c/x", ("Accept-Encoding", "gzip"));
        Assert.Null(ContentEncoding(miss));
        Assert.Equal(0, miss.Content.Headers.ContentLength);

        using var hit = await HitAsync(gateway.Client, "/c/x", ("Accept-Encoding", "gzip"));
        Assert.Equal("HIT", Header(hit, "X-Cache-Status"));
        Assert.Null(ContentEncoding(hit));
        Assert.Equal(0, hit.Content.Headers.ContentLength);
        Assert.Empty(await hit.Content.ReadAsByteArrayAsync());

        using var any = await SendAsync(gateway.Client, HttpMethod.Get, "/z/x", ("Accept-Encoding", "gzip"));
        Assert.Null(ContentEncoding(any));
        Assert.Equal(0, any.Content.Headers.ContentLength);
        Assert.DoesNotContain("Accept-Encoding", Vary(any));

        using var mock = await SendAsync(gateway.Client, HttpMethod.Get, "/mock", ("Accept-Encoding", "gzip"));
        Assert.Equal(HttpStatusCode.OK, mock.StatusCode);
        Assert.Null(ContentEncoding(mock));
        Assert.Equal(0, mock.Content.Headers.ContentLength);
    }

    // ---- 6: more than one Content-Type ----

    [Fact]
    public async Task Two_content_types_are_never_compressed()
    {
        var text = "data: first\n\n" + new string(':', 3000) + "\n\n";
        using var backend = RawBackend.Custom(async socket =>
        {
            await RawBackend.ReadHeadAsync(socket);
            await socket.SendAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Type: text/plain\r\nContent-Length: {text.Length}\r\nConnection: close\r\n\r\n{text}"));
            socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(200);
            socket.Close();
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url, "compression: {types: [text/*]}"));
        using var response = await GetAsync(gateway.Client, "/api/events", "gzip, br, zstd");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(ContentEncoding(response));
        Assert.Equal(text, await response.Content.ReadAsStringAsync());
    }

    // ---- 7: HEAD has GET's head ----

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    [InlineData(null)]
    public async Task Head_gets_the_head_get_would_get_without_a_body(string? coding)
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false, headers: r =>
        {
            r.Headers.ETag = "\"h1\"";
            r.Headers.AcceptRanges = "bytes";
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var get = await SendAsync(gateway.Client, HttpMethod.Get, "/api/data", coding is null ? [] : [("Accept-Encoding", coding)]);
        using var head = await SendAsync(gateway.Client, HttpMethod.Head, "/api/data", coding is null ? [] : [("Accept-Encoding", coding)]);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(coding, ContentEncoding(get));
        Assert.Equal(ContentEncoding(get), ContentEncoding(head));
        Assert.Equal(Vary(get), Vary(head));
        Assert.Equal(get.Headers.ETag!.ToString(), head.Headers.ETag!.ToString());
        Assert.Equal(Header(get, "Accept-Ranges"), Header(head, "Accept-Ranges"));
        Assert.Equal(coding is null ? body.Length : null, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    // ---- 8: the request's no-transform ----

    [Fact]
    public async Task A_request_with_no_transform_gets_the_body_as_it_is()
    {
        var body = Body(4_000);
        await using var backend = await StartAsync(body, chunked: false, headers: r => r.Headers.ETag = "\"n1\"");
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var response = await SendAsync(gateway.Client, HttpMethod.Get, "/api/data", ("Accept-Encoding", "gzip"), ("Cache-Control", "max-age=0, No-Transform"));
        Assert.Null(ContentEncoding(response));
        Assert.Contains("Accept-Encoding", Vary(response));
        Assert.Equal("\"n1\"", response.Headers.ETag!.ToString());
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
    }

    // ---- Minor: a backend's empty Vary ----

    [Fact]
    public async Task A_backends_empty_vary_is_not_sent_as_an_empty_element()
    {
        var body = Body(4_000);
        using var backend = RawBackend.Custom(async socket =>
        {
            await RawBackend.ReadHeadAsync(socket);
            await socket.SendAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nVary: \r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
            await socket.SendAsync(body);
            socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(200);
            socket.Close();
        });
        await using var gateway = await TestGateway.StartAsync(Route(backend.Url));
        using var client = await WireClient.ConnectAsync(gateway.Port);
        await client.SendAsync("GET /api/data HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\n\r\n");
        var response = await client.ReadAsync();
        Assert.Equal(200, response.Status);
        var vary = response.Headers.Where(h => h.Key.Equals("Vary", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        Assert.Equal(["Accept-Encoding"], vary);
    }
}
