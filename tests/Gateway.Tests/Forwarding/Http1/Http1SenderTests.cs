using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Tests.Forwarding.Http1;

/// <summary>
/// The HTTP/1.1 fast path end to end: the real gateway in front of raw loopback backends that send exactly the bytes a
/// test needs and count the connections they accept.
/// </summary>
public sealed class Http1SenderTests
{
    private static Task<TestGateway> StartAsync(string backend, string extra = "", bool fastPath = true) =>
        TestGateway.StartAsync($$"""
            routes:
              - {path: /*rest, backend: "{{backend}}"{{extra}}}
            """, http1FastPath: fastPath);

    /// <summary>A backend that reads every request of a connection in turn and lets <paramref name="answer"/> reply.</summary>
    internal static RawBackend Serve(Func<RecordedRequest, BackendConnection, Task> answer, ConcurrentQueue<RecordedRequest>? log = null) =>
        RawBackend.Custom(async socket =>
        {
            var connection = new BackendConnection(socket);
            while (await connection.ReadRequestAsync() is { } request)
            {
                log?.Enqueue(request);
                await answer(request, connection);
            }

            socket.Close();
        });

    private static string Text(int length, int seed)
    {
        var random = new Random(seed);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)random.Next('!', '~' + 1);
        }

        return new string(chars);
    }

    private static string Ok(string body, string extra = "") => $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n{extra}\r\n{body}";

    // ---- the fast path is the one in use ----

    [Fact]
    public async Task Plain_http_get_and_content_length_posts_take_the_fast_path_and_chunked_posts_do_not()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve((request, connection) => connection.SendAsync(Ok("ok")), log);
        await using var fast = await StartAsync(backend.Url);
        await using var yarp = await StartAsync(backend.Url, fastPath: false);

        // The two paths spell the gateway's header names differently on the wire (see IsFastPathShape): that tells
        // them apart from the backend's side, without looking inside the gateway.
        Assert.Equal("ok", await fast.Client.GetStringAsync("/a"));
        Assert.True(log.TryDequeue(out var viaFast));
        Assert.Equal("ok", await yarp.Client.GetStringAsync("/a"));
        Assert.True(log.TryDequeue(out var viaYarp));
        Assert.Equal("Host", viaFast.Headers[0].Name);
        Assert.True(IsFastPathShape(viaFast), viaFast.Head);
        Assert.False(IsFastPathShape(viaYarp), viaYarp.Head);

        using var post = await fast.Client.PostAsync("/p", new ByteArrayContent([1, 2, 3]));
        Assert.True(log.TryDequeue(out var postFast));
        Assert.True(IsFastPathShape(postFast), postFast.Head);

        using var chunkedPost = new HttpRequestMessage(HttpMethod.Post, "/p") { Content = new ByteArrayContent([1, 2, 3]) };
        chunkedPost.Headers.TransferEncodingChunked = true;
        using var chunked = await fast.Client.SendAsync(chunkedPost);
        Assert.Equal(HttpStatusCode.OK, chunked.StatusCode);
        Assert.True(log.TryDequeue(out var chunkedRequest));
        Assert.Equal("chunked", chunkedRequest.Header("Transfer-Encoding"));
        Assert.Equal(new byte[] { 1, 2, 3 }, chunkedRequest.Body);
        Assert.False(IsFastPathShape(chunkedRequest), chunkedRequest.Head);
    }

    /// <summary>
    /// Tells the two paths apart from the backend's side: the fast path writes header names as the gateway spells them
    /// ("X-Request-Id"), while YARP's HttpClient writes the names it knows in its own spelling ("X-Request-ID").
    /// </summary>
    internal static bool IsFastPathShape(RecordedRequest request) =>
        request.Headers.Count > 0 && request.Headers[0].Name == "Host" && request.Headers.Any(h => h.Name == "X-Request-Id")
        && !request.Headers.Any(h => h.Name == "X-Request-ID");

    // ---- response framing ----

    [Fact]
    public async Task A_chunked_response_arrives_intact_and_the_connection_is_kept()
    {
        var body = Text(50_000, 1);
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\n\r\n");
            var sizes = new[] { 1, 7, 300, 4096, 16_000, 9, 2 };
            var offset = 0;
            for (var i = 0; offset < body.Length; i++)
            {
                var size = Math.Min(sizes[i % sizes.Length], body.Length - offset);
                var hex = size.ToString(i % 2 == 0 ? "x" : "X", System.Globalization.CultureInfo.InvariantCulture);
                var extension = i % 3 == 0 ? ";ext=val" : "";
                // Split the size line from its data now and then, so the gateway sees chunks across reads.
                await connection.SendAsync(hex + extension + "\r\n" + body.Substring(offset, size / 2));
                await connection.SendAsync(body.Substring(offset + (size / 2), size - (size / 2)) + "\r\n");
                offset += size;
            }

            await connection.SendAsync("0\r\nX-Sum: 1234\r\n\r\n");
        });
        await using var gateway = await StartAsync(backend.Url);
        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.Client.GetAsync("/chunked");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
            Assert.True(response.Headers.TransferEncodingChunked);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.False(response.Headers.Contains("X-Sum"));
            Assert.False(response.Headers.Contains("Trailer"));
        }

        Assert.Equal(1, backend.Connections);
    }

    [Fact]
    public async Task A_close_delimited_response_arrives_intact_and_the_connection_is_not_reused()
    {
        var body = Text(200_000, 2);
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            for (var offset = 0; offset < body.Length; offset += 30_000)
            {
                await connection.SendAsync(body.Substring(offset, Math.Min(30_000, body.Length - offset)));
            }

            connection.Socket.Shutdown(SocketShutdown.Both);
            connection.Socket.Close();
        });
        await using var gateway = await StartAsync(backend.Url);
        for (var i = 0; i < 2; i++)
        {
            using var response = await gateway.Client.GetAsync("/close");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(2, backend.Connections);
    }

    [Fact]
    public async Task Content_length_with_transfer_encoding_is_decoded_as_chunked_and_ends_the_connection()
    {
        using var backend = Serve((request, connection) =>
            connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
        await using var gateway = await StartAsync(backend.Url);
        for (var i = 0; i < 2; i++)
        {
            using var response = await gateway.Client.GetAsync("/both");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("hello world", await response.Content.ReadAsStringAsync());
            Assert.NotEqual(3, response.Content.Headers.ContentLength);
        }

        // The backend would keep the connection; the gateway must not (RFC 9112 6.3).
        Assert.Equal(2, backend.Connections);
    }

    [Fact]
    public async Task Head_204_and_304_responses_have_no_body_and_keep_the_connection()
    {
        using var backend = Serve((request, connection) => connection.SendAsync(request.Target switch
        {
            "/head" => "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/plain\r\n\r\n",
            "/204" => "HTTP/1.1 204 No Content\r\nX-A: a\r\n\r\n",
            "/304" => "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 99\r\n\r\n",
            _ => Ok("after"),
        }));
        await using var gateway = await StartAsync(backend.Url);

        using var noContent = await gateway.Client.GetAsync("/204");
        Assert.Equal(HttpStatusCode.NoContent, noContent.StatusCode);
        Assert.Equal("a", noContent.Headers.GetValues("X-A").Single());

        using var notModified = await gateway.Client.GetAsync("/304");
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("\"e\"", notModified.Headers.ETag?.Tag);

        Assert.Equal("after", await gateway.Client.GetStringAsync("/next"));
        Assert.Equal(1, backend.Connections);

        // HEAD: the length is passed on, no body is waited for, and the next request is answered correctly (whether
        // the connection is kept after HEAD is the gateway's choice).
        using var head = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/head"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(1234, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal("after", await gateway.Client.GetStringAsync("/next"));
        Assert.InRange(backend.Connections, 1, 2);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Folded: one\r\n two\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Space : one\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Bare: one\rX-Evil: two\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Bare: one\nX-Evil: two\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n")]
    [InlineData("HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("HTTP/1.1 600 Nope\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]
    public async Task Malformed_response_heads_are_a_502_problem(string response)
    {
        using var backend = Serve((request, connection) => connection.SendAsync(response));
        await using var gateway = await StartAsync(backend.Url);
        using var answer = await gateway.Client.GetAsync("/bad");
        Assert.Equal(HttpStatusCode.BadGateway, answer.StatusCode);
        var problem = await ForwardingTests.AssertProblemAsync(answer, 502);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Equal("The backend sent an invalid or incomplete response.", detail);
        Assert.False(answer.Headers.Contains("X-Evil"));
        Assert.False(answer.Headers.Contains("X-Folded"));
    }

    [Fact]
    public async Task A_response_head_over_64_KiB_is_a_502_and_one_under_it_passes()
    {
        using var backend = Serve((request, connection) => connection.SendAsync(request.Target == "/big"
            ? Ok("x", "X-Big: " + Text(66 * 1024, 3) + "\r\n")
            : Ok("x", "X-Large: " + Text(50 * 1024, 4) + "\r\n")));
        await using var gateway = await StartAsync(backend.Url);
        using var big = await gateway.Client.GetAsync("/big");
        Assert.Equal(HttpStatusCode.BadGateway, big.StatusCode);
        await ForwardingTests.AssertProblemAsync(big, 502);

        using var large = await gateway.Client.GetAsync("/large");
        Assert.Equal(HttpStatusCode.OK, large.StatusCode);
        Assert.Equal(Text(50 * 1024, 4), large.Headers.GetValues("X-Large").Single());
    }

    [Fact]
    public async Task Interim_responses_are_skipped_and_the_final_one_passed_on()
    {
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync("HTTP/1.1 100 Continue\r\n\r\n");
            await Task.Delay(20);
            await connection.SendAsync("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n");
            await Task.Delay(20);
            await connection.SendAsync(Ok("final", "X-Final: yes\r\n"));
        });
        await using var gateway = await StartAsync(backend.Url);
        for (var i = 0; i < 2; i++)
        {
            using var response = await gateway.Client.GetAsync("/interim");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("final", await response.Content.ReadAsStringAsync());
            Assert.Equal("yes", response.Headers.GetValues("X-Final").Single());
            Assert.False(response.Headers.Contains("Link"));
        }

        Assert.Equal(1, backend.Connections);
    }

    [Fact]
    public async Task An_interim_response_split_over_reads_is_skipped_and_the_final_one_parsed_whole()
    {
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync("HTTP/1.1 103 Early Hints\r\nLink: <" + new string('x', 300));
            await Task.Delay(100);
            await connection.SendAsync(">\r\n\r\n");
            await Task.Delay(100);
            await connection.SendAsync(Ok("ok"));
        });
        await using var gateway = await StartAsync(backend.Url);
        using var response = await gateway.Client.GetAsync("/split103");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_post_without_a_body_tells_the_backend_its_length_is_zero()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve((request, connection) => connection.SendAsync(Ok("ok")), log);
        await using var gateway = await StartAsync(backend.Url);
        var answer = await ExchangeAsync(gateway.Port, "POST /nobody HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.True(log.TryDequeue(out var seen));
        Assert.True(IsFastPathShape(seen), seen.Head);
        Assert.Equal("0", seen.Header("Content-Length"));
    }

    [Fact]
    public async Task Response_headers_pass_on_without_hop_by_hop_ones()
    {
        using var backend = Serve((request, connection) => connection.SendAsync(Ok("ok",
            "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\nConnection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\n"
            + "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nTrailer: X-T\r\nX-Multi: 1\r\nX-Multi: 2\r\nX-Request-Id: from-backend\r\nCache-Control: no-store\r\n")));
        await using var gateway = await StartAsync(backend.Url);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/h");
        request.Headers.Add("X-Request-Id", "client-id-1");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["a=1; Path=/", "b=2; HttpOnly"], response.Headers.GetValues("Set-Cookie"));
        Assert.Equal(["1", "2"], response.Headers.GetValues("X-Multi"));
        Assert.Equal("client-id-1", response.Headers.GetValues("X-Request-Id").Single());
        Assert.True(response.Headers.CacheControl?.NoStore);
        foreach (var name in new[] { "X-Secret", "Keep-Alive", "Proxy-Connection", "Upgrade", "Trailer" })
        {
            Assert.False(response.Headers.Contains(name), name);
        }
    }

    // ---- keep-alive ----

    [Fact]
    public async Task Sequential_requests_share_one_backend_connection()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve((request, connection) => connection.SendAsync(Ok(request.Method + " " + request.Target + " " + request.Body.Length)), log);
        await using var gateway = await StartAsync(backend.Url);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal($"GET /get/{i} 0", await gateway.Client.GetStringAsync($"/get/{i}"));
        }

        using var post = await gateway.Client.PostAsync("/post", new ByteArrayContent(new byte[1000]));
        Assert.Equal("POST /post 1000", await post.Content.ReadAsStringAsync());
        using var delete = await gateway.Client.DeleteAsync("/delete");
        Assert.Equal("DELETE /delete 0", await delete.Content.ReadAsStringAsync());
        Assert.Equal(1, backend.Connections);
        Assert.Equal(7, log.Count);
        Assert.All(log, r => Assert.True(IsFastPathShape(r), r.Head));
    }

    [Fact]
    public async Task Concurrent_requests_each_get_their_own_answer()
    {
        using var backend = Serve(async (request, connection) =>
        {
            await Task.Delay(Random.Shared.Next(0, 20));
            await connection.SendAsync(Ok(request.Target));
        });
        await using var gateway = await StartAsync(backend.Url);
        for (var round = 0; round < 3; round++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => gateway.Client.GetStringAsync($"/c/{round}/{i}")));
            Assert.Equal(Enumerable.Range(0, 20).Select(i => $"/c/{round}/{i}"), answers);
        }

        Assert.InRange(backend.Connections, 1, 60);
    }

    [Fact]
    public async Task The_gateway_process_with_inline_io_gives_every_concurrent_request_its_own_answer()
    {
        // `gateway run` runs requests on the I/O threads (the in-process host does not): the same check there.
        using var backend = Serve(async (request, connection) =>
        {
            await Task.Delay(Random.Shared.Next(0, 10));
            var answer = request.Body.Length > 0 ? Convert.ToHexString(SHA256.HashData(request.Body)) : request.Target;
            await connection.SendAsync(Ok(answer));
        });
        var config = Path.Combine(Path.GetTempPath(), $"gateway-inline-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, $$"""
            server: {host: 127.0.0.1, port: 0}
            admin: {enabled: false}
            logging: {access_log: true, level: info}
            routes:
              - {path: /*rest, backend: "{{backend.Url}}"}
            """);
        try
        {
            await using var process = GatewayProcess.Start(Paths.Repository, "run", config);
            var port = await process.WaitForListeningAsync();
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            for (var round = 0; round < 3; round++)
            {
                var gets = Enumerable.Range(0, 40).Select(i => client.GetStringAsync($"/c/{round}/{i}"));
                var bodies = Enumerable.Range(0, 10).Select(i => RandomNumberGenerator.GetBytes(1000 + (i * 7000))).ToArray();
                var posts = bodies.Select(async body =>
                {
                    using var response = await client.PostAsync("/up", new ByteArrayContent(body));
                    return await response.Content.ReadAsStringAsync();
                });
                Assert.Equal(Enumerable.Range(0, 40).Select(i => $"/c/{round}/{i}"), await Task.WhenAll(gets));
                Assert.Equal(bodies.Select(b => Convert.ToHexString(SHA256.HashData(b))), await Task.WhenAll(posts));
            }
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, Close\r\n\r\nhello")]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")]
    [InlineData("HTTP/1.1 204 No Content\r\n\r\nEXTRA", "")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nEXTRA")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")]
    public async Task A_connection_the_response_cannot_vouch_for_is_not_reused(string response, string body = "hello")
    {
        // The backend itself never closes: only the gateway can decide not to reuse.
        using var backend = Serve((request, connection) => connection.SendAsync(response));
        await using var gateway = await StartAsync(backend.Url);
        for (var i = 0; i < 3; i++)
        {
            using var answer = await gateway.Client.GetAsync("/x");
            Assert.Equal(body.Length > 0 ? HttpStatusCode.OK : HttpStatusCode.NoContent, answer.StatusCode);
            Assert.Equal(body, await answer.Content.ReadAsStringAsync());
        }

        Assert.Equal(3, backend.Connections);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stray_response_sent_after_the_body_is_never_the_answer_to_the_next_request(bool fastPath)
    {
        using var backend = Serve(async (request, connection) =>
        {
            if (request.Target == "/first")
            {
                await connection.SendAsync(Ok("first"));
                await Task.Delay(50);
                await connection.SendAsync(Ok("stray"));
                return;
            }

            await connection.SendAsync(Ok("second"));
        });
        await using var gateway = await StartAsync(backend.Url, fastPath: fastPath);
        Assert.Equal("first", await gateway.Client.GetStringAsync("/first"));
        await Task.Delay(300);
        Assert.Equal("second", await gateway.Client.GetStringAsync("/second"));
    }

    [Fact]
    public async Task A_connection_the_backend_closed_while_idle_is_replaced()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync(Ok("ok"));
            // A short keep-alive timeout on the backend's side.
            await Task.Delay(100);
            connection.Socket.Shutdown(SocketShutdown.Both);
        }, log);
        await using var gateway = await StartAsync(backend.Url);
        Assert.Equal("ok", await gateway.Client.GetStringAsync("/one"));
        await Task.Delay(1300);
        Assert.Equal("ok", await gateway.Client.GetStringAsync("/two"));
        Assert.Equal(2, backend.Connections);
        Assert.Equal(["/one", "/two"], log.Select(r => r.Target));
        Assert.All(log, r => Assert.True(IsFastPathShape(r), r.Head));
    }

    [Fact]
    public async Task A_connection_closed_right_after_the_response_does_not_fail_the_next_request()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve(async (request, connection) =>
        {
            // No "Connection: close": the backend just goes away after answering.
            await connection.SendAsync(Ok("ok " + request.Target));
            connection.Socket.Shutdown(SocketShutdown.Both);
            connection.Socket.Close();
        }, log);
        await using var gateway = await StartAsync(backend.Url);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal($"ok /{i}", await gateway.Client.GetStringAsync($"/{i}"));
            await Task.Delay(20);
        }

        using var head = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/head"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(5, backend.Connections);
        Assert.Equal(["/0", "/1", "/2", "/3", "/head"], log.Select(r => r.Target));
        Assert.All(log, r => Assert.True(IsFastPathShape(r), r.Head));
    }

    [Fact]
    public async Task A_post_after_the_backend_closed_the_idle_connection_goes_on_a_new_one_exactly_once()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync(Ok("ok " + request.Method));
            connection.Socket.Shutdown(SocketShutdown.Both);
            connection.Socket.Close();
        }, log);
        await using var gateway = await StartAsync(backend.Url);
        Assert.Equal("ok GET", await gateway.Client.GetStringAsync("/warm"));
        await Task.Delay(50);
        using var post = await gateway.Client.PostAsync("/post", new StringContent("once"));
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal("ok POST", await post.Content.ReadAsStringAsync());
        Assert.Equal(["/warm", "/post"], log.Select(r => r.Target));
        Assert.Equal("once", Encoding.ASCII.GetString(log.Last().Body));
        Assert.Equal(2, backend.Connections);
    }

    [Theory]
    [InlineData("GET", 2)]
    [InlineData("POST", 1)]
    public async Task A_request_the_backend_read_and_dropped_is_retried_only_when_it_can_do_nothing_twice(string method, int expectedCopies)
    {
        // Warm request answered; on the kept-alive connection, the next request is read and then dropped without a
        // word. A second copy (on a new connection) is answered.
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve(async (request, connection) =>
        {
            if (request.Target == "/warm" || log.Count(r => r.Target == "/op") > 1)
            {
                await connection.SendAsync(Ok("done"));
                return;
            }

            connection.Socket.Shutdown(SocketShutdown.Both);
            connection.Socket.Close();
        }, log);
        await using var gateway = await StartAsync(backend.Url);
        Assert.Equal("done", await gateway.Client.GetStringAsync("/warm"));
        using var request = new HttpRequestMessage(new HttpMethod(method), "/op");
        if (method == "POST")
        {
            request.Content = new StringContent("payload");
        }

        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(expectedCopies, log.Count(r => r.Target == "/op"));
        Assert.Equal(expectedCopies == 2 ? HttpStatusCode.OK : HttpStatusCode.BadGateway, response.StatusCode);
        if (expectedCopies == 1)
        {
            await ForwardingTests.AssertProblemAsync(response, 502);
        }
    }

    [Fact]
    public async Task A_5xx_held_back_for_a_retry_goes_to_a_new_attempt_and_the_client_sees_the_answer()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve((request, connection) => connection.SendAsync(log.Count == 1
            ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nX-Attempt: 1\r\n\r\nbusy"
            : Ok("fine")), log);
        await using var gateway = await StartAsync(backend.Url, ", retry: {max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 5}");
        using var response = await gateway.Client.GetAsync("/retry");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fine", await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("X-Attempt"));
        Assert.Equal(2, log.Count);
        Assert.All(log, r => Assert.True(IsFastPathShape(r), r.Head));
        // The held-back answer's body was never read: that connection cannot be reused.
        Assert.Equal(2, backend.Connections);
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_body_leaves_nothing_for_the_next_request()
    {
        var body = Text(2_000_000, 9);
        using var backend = Serve(async (request, connection) =>
        {
            if (request.Target != "/big")
            {
                await connection.SendAsync(Ok("small"));
                return;
            }

            await connection.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n");
            for (var offset = 0; offset < body.Length; offset += 100_000)
            {
                await connection.SendAsync(body.Substring(offset, 100_000));
                await Task.Delay(5);
            }
        });
        await using var gateway = await StartAsync(backend.Url);
        using (var client = new HttpClient())
        {
            using var big = await client.GetAsync($"http://127.0.0.1:{gateway.Port}/big", HttpCompletionOption.ResponseHeadersRead);
            var stream = await big.Content.ReadAsStreamAsync();
            await stream.ReadExactlyAsync(new byte[1000]);
        }

        await Task.Delay(100);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("small", await gateway.Client.GetStringAsync("/small"));
        }

        Assert.Equal(2, backend.Connections);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_early_answer_before_the_body_is_read(bool fastPath)
    {
        // A backend that refuses a large upload from its head alone, without reading the body, and closes.
        using var backend = RawBackend.Custom(async socket =>
        {
            var buffer = new byte[4096];
            var head = "";
            while (!head.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await socket.ReceiveAsync(buffer);
                if (read == 0)
                {
                    return;
                }

                head += Encoding.Latin1.GetString(buffer, 0, read);
            }

            await socket.SendAsync("HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!"u8.ToArray());
            socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(200);
            socket.Close();
        });
        await using var gateway = await StartAsync(backend.Url, fastPath: fastPath);
        using var response = await gateway.Client.PutAsync("/upload", new ByteArrayContent(new byte[8 * 1024 * 1024]));
        // Either the backend's own answer or a 502: never a hang, never a 2xx. The HTTP/1.1 path passes the answer on.
        Assert.True(response.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadGateway, response.StatusCode.ToString());
        if (fastPath)
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("too big!", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task The_fresh_connection_retry_stays_within_the_route_timeout()
    {
        var slow = 0;
        using var backend = Serve(async (request, connection) =>
        {
            if (request.Target == "/warm")
            {
                await connection.SendAsync(Ok("warm"));
                return;
            }

            // Takes its time over the request on the kept-alive connection, then goes away without a word; the
            // gateway's second try on a new connection hangs.
            await Task.Delay(Interlocked.Increment(ref slow) == 1 ? 700 : Timeout.Infinite);
            connection.Socket.Close();
        });
        await using var gateway = await StartAsync(backend.Url, ", timeout_secs: 1");
        Assert.Equal("warm", await gateway.Client.GetStringAsync("/warm"));
        var clock = Stopwatch.StartNew();
        using var response = await gateway.Client.GetAsync("/slow");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromMilliseconds(1500));
    }

    // ---- broken bodies and timeouts ----

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789XX5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n0123456789\r\n0\r\n\r\n")]
    public async Task A_broken_body_aborts_the_client_response_instead_of_ending_it_cleanly(string response)
    {
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync(response);
            await Task.Delay(50);
            connection.Socket.Shutdown(SocketShutdown.Both);
            connection.Socket.Close();
        });
        await using var gateway = await StartAsync(backend.Url);
        await AssertCutOffAsync(gateway, "/truncated");
    }

    /// <summary>The client's response starts and is then cut off: never a complete response, never a 500.</summary>
    private static async Task AssertCutOffAsync(TestGateway gateway, string path)
    {
        string? complete = null;
        var error = await Record.ExceptionAsync(async () =>
        {
            using var answer = await gateway.Client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            var body = await answer.Content.ReadAsByteArrayAsync();
            complete = $"complete response {(int)answer.StatusCode} with {body.Length} bytes: {Encoding.ASCII.GetString(body)}";
        });
        Assert.True(error is HttpRequestException or IOException, complete ?? error?.ToString());
    }

    [Fact]
    public async Task A_bad_chunk_after_a_good_one_never_reaches_the_client_as_an_answer_and_is_never_retried_into_another()
    {
        // The good chunk and the bad one arrive together, so the failure comes before anything was flushed.
        using var broken = Serve((request, connection) =>
            connection.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nSECRET\r\nZZ\r\n"));
        await using var gateway = await StartAsync(broken.Url);
        await AssertCutOffAsync(gateway, "/badchunk");

        // With retries and a healthy second backend, the answer is never the broken start plus another backend's body.
        using var healthy = Serve((request, connection) => connection.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nWORLD\r\n0\r\n\r\n"));
        await using var retrying = await TestGateway.StartAsync($$"""
            routes:
              - path: /*rest
                backends: [{url: "{{broken.Url}}"}, {url: "{{healthy.Url}}"}]
                retry: {max_retries: 2, initial_backoff_ms: 1}
            """, http1FastPath: true);
        for (var i = 0; i < 4; i++)
        {
            string? body = null;
            var error = await Record.ExceptionAsync(async () => body = await retrying.Client.GetStringAsync("/retry"));
            Assert.True(body is null or "WORLD", body);
            Assert.True(error is null or HttpRequestException or IOException, error?.ToString());
        }
    }

    [Fact]
    public async Task A_backend_that_never_answers_is_a_504_at_the_route_timeout()
    {
        using var hang = RawBackend.Hang();
        await using var gateway = await TestGateway.StartAsync($$"""
            server: {host: 127.0.0.1, port: 0, timeout_secs: 30}
            routes:
              - {path: /slow, backend: "{{hang.Url}}", timeout_secs: 1}
            """, http1FastPath: true);
        var clock = Stopwatch.StartNew();
        using var response = await gateway.Client.GetAsync("/slow");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        await ForwardingTests.AssertProblemAsync(response, 504);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_backend_that_stalls_in_the_body_is_cut_off_at_the_route_timeout()
    {
        using var backend = Serve(async (request, connection) =>
        {
            await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
            await Task.Delay(Timeout.Infinite);
        });
        await using var gateway = await StartAsync(backend.Url, ", timeout_secs: 1");
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var answer = await gateway.Client.GetAsync("/stall", HttpCompletionOption.ResponseHeadersRead);
            await answer.Content.ReadAsByteArrayAsync();
        });
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_client_body_that_stops_arriving_is_a_400_and_never_blamed_on_the_backend()
    {
        using var backend = Serve(async (request, connection) => await connection.SendAsync(Ok("ok")));
        await using var gateway = await TestGateway.StartAsync($$"""
            routes:
              - path: /*rest
                backend: "{{backend.Url}}"
                timeout_secs: 1
                circuit_breaker: {failure_threshold: 1, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}
            """, http1FastPath: true);

        // Half the promised body, then silence: the client's fault, not the backend's.
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"));
        var buffer = new byte[4096];
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = await stream.ReadAsync(buffer, wait.Token);
        var answer = Encoding.ASCII.GetString(buffer, 0, read);
        Assert.StartsWith("HTTP/1.1 400 ", answer, StringComparison.Ordinal);
        Assert.Contains("did not arrive", answer, StringComparison.Ordinal);

        // A breaker that opens on one failure is still closed: the next request gets through.
        Assert.Equal("ok", await gateway.Client.GetStringAsync("/after"));
    }

    // ---- request bodies ----

    [Fact]
    public async Task A_content_length_body_arrives_byte_exact()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve((request, connection) => connection.SendAsync(Ok(Convert.ToHexString(SHA256.HashData(request.Body)))), log);
        await using var gateway = await StartAsync(backend.Url);
        foreach (var size in new[] { 1, 5000, 300_000 })
        {
            var body = new byte[size];
            new Random(size).NextBytes(body);
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            using var response = await gateway.Client.PutAsync("/upload", content);
            Assert.Equal(Convert.ToHexString(SHA256.HashData(body)), await response.Content.ReadAsStringAsync());
            Assert.True(log.TryDequeue(out var seen));
            Assert.True(IsFastPathShape(seen), seen.Head);
            Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Header("Content-Length"));
            Assert.Null(seen.Header("Transfer-Encoding"));
            Assert.Equal("application/octet-stream", seen.Header("Content-Type"));
            Assert.Equal(body, seen.Body);
        }

        using var empty = await gateway.Client.PostAsync("/empty", new ByteArrayContent([]));
        Assert.Equal(Convert.ToHexString(SHA256.HashData([])), await empty.Content.ReadAsStringAsync());
        Assert.True(log.TryDequeue(out var emptySeen));
        Assert.Equal("0", emptySeen.Header("Content-Length"));
        Assert.Equal(1, backend.Connections);
    }

    [Fact]
    public async Task A_chunked_request_body_still_arrives_through_yarp()
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve((request, connection) => connection.SendAsync(Ok(Convert.ToHexString(SHA256.HashData(request.Body)))), log);
        await using var gateway = await StartAsync(backend.Url);
        var body = new byte[100_000];
        new Random(7).NextBytes(body);
        using var content = new StreamContent(new MemoryStream(body));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/chunked") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(body)), await response.Content.ReadAsStringAsync());
        Assert.True(log.TryDequeue(out var seen));
        Assert.Equal("chunked", seen.Header("Transfer-Encoding"));
        Assert.Equal(body, seen.Body);

        var raw = await gateway.SendRawAsync("POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", raw, StringComparison.Ordinal);
        Assert.EndsWith(Convert.ToHexString(SHA256.HashData("hello"u8)), raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_naming_content_length_cannot_unframe_the_request_body()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend.Url);
        const string smuggled = "GET /smuggled HTTP/1.1\r\nHost: b\r\n\r\n";
        var response = await gateway.SendRawAsync(
            $"POST /post HTTP/1.1\r\nHost: t\r\nConnection: Content-Length\r\nContent-Length: {smuggled.Length}\r\n\r\n{smuggled}");
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        var echo = EchoedRequest.Parse(response);
        Assert.Equal("/post", echo.Target);
        Assert.Equal(smuggled.Length, echo.BodyBytes);
        await Task.Delay(100);
        Assert.Equal(1, backend.Requests);
    }

    // ---- differential: the fast path and YARP send backends the same request ----

    private static readonly string Jwt = Tokens.Hs256(Tokens.Claims(sub: "user-7", roles: ["reader"]));

    private static string DifferentialConfig(string backend) => $$$"""
        auth:
          jwt:
            secret: "{{{Tokens.Secret}}}"
            algorithm: HS256
            issuer: "{{{Tokens.Issuer}}}"
            audience: "{{{Tokens.Audience}}}"
          api_key:
            header: X-API-Key
            keys:
              "k-123456": partner
        routes:
          - {id: plain, path: /plain/*rest, backend: "{{{backend}}}"}
          - {id: strip, path: /strip/*rest, backend: "{{{backend}}}", strip_prefix: true}
          - {id: host, path: /host/*rest, backend: "{{{backend}}}", preserve_host: true}
          - {id: prefixed, path: /prefixed/*rest, backend: "{{{backend}}}/base"}
          - {id: key-kept, path: /keykept/*rest, backend: "{{{backend}}}", auth: {required: true, methods: [apikey], forward_authorization: false}}
          - {id: key-fwd, path: /keyfwd/*rest, backend: "{{{backend}}}", auth: {required: true, methods: [apikey]}}
          - {id: jwt-kept, path: /jwtkept/*rest, backend: "{{{backend}}}", auth: {required: true, methods: [jwt], forward_authorization: false, token_cookie: session, token_query: access_token}}
          - {id: jwt-fwd, path: /jwtfwd/*rest, backend: "{{{backend}}}", auth: {required: true, methods: [jwt]}}
        """;

    private const string H = "Host: api.example.com\r\n";

    /// <summary>Raw requests (Latin-1 on the wire); the third value says whether the fast path takes it.</summary>
    private static readonly Dictionary<string, (string Request, bool Fast)> DifferentialCases = new()
    {
        ["plain-get"] = ("GET /plain/a?x=1&y=%2F&z=a+b&empty=&flag HTTP/1.1\r\n" + H + "Accept: */*\r\nUser-Agent: diff/1.0\r\nAccept-Encoding: gzip, br\r\nX-Custom: c\r\nVia: 1.1 other\r\n\r\n", true),
        ["connection-names-headers"] = ("GET /plain/c HTTP/1.1\r\n" + H + "Connection: X-Secret, x-other\r\nX-Secret: s\r\nX-Other: o\r\nX-Kept: k\r\n\r\n", true),
        ["connection-keep-alive-and-names"] = ("GET /plain/c HTTP/1.1\r\n" + H + "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nX-Kept: k\r\n\r\n", true),
        ["connection-names-gateway-headers"] = ("GET /plain/c HTTP/1.1\r\n" + H + "Connection: X-Forwarded-For, X-Request-Id, traceparent, Cookie, Accept\r\nCookie: c=1\r\nAccept: text/html\r\n\r\n", true),
        ["connection-names-content-type"] = ("POST /plain/p HTTP/1.1\r\n" + H + "Connection: Content-Type\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", true),
        ["connection-names-host-preserved"] = ("GET /host/h HTTP/1.1\r\n" + H + "Connection: Host\r\n\r\n", true),
        ["connection-names-content-length"] = ("POST /plain/p HTTP/1.1\r\n" + H + "Connection: Content-Length\r\nContent-Length: 5\r\n\r\nhello", true),
        ["hop-by-hop"] = ("GET /plain/h HTTP/1.1\r\n" + H + "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nX-Kept: k\r\n\r\n", true),
        ["forwarding-headers"] = ("GET /plain/f HTTP/1.1\r\n" + H + "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nForwarded: for=1.2.3.4\r\nX-Real-IP: 1.1.1.1\r\n\r\n", true),
        ["request-id-and-trace"] = ("GET /plain/t HTTP/1.1\r\n" + H + "X-Request-Id: abc-123\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\ntracestate: vendor=x\r\n\r\n", true),
        ["invalid-request-id-and-trace"] = ("GET /plain/t HTTP/1.1\r\n" + H + "X-Request-Id: has spaces\r\ntraceparent: 00-00000000000000000000000000000000-b7ad6b7169203331-01\r\ntracestate: vendor=x\r\n\r\n", true),
        ["identity-headers-from-client"] = ("GET /plain/i HTTP/1.1\r\n" + H + "X-User-Id: eve\r\nX_User_Id: eve2\r\nx_user_roles: admin\r\nX-User-Roles: admin\r\nX-Api-Key-Name: k\r\nX_Api_Key_Name: k2\r\nX_Other_Thing: kept\r\n\r\n", true),
        ["cookies"] = ("GET /plain/k HTTP/1.1\r\n" + H + "Cookie: a=1\r\nCookie: b=2; c=3\r\n\r\n", true),
        ["repeated-header"] = ("GET /plain/r HTTP/1.1\r\n" + H + "X-Multi: 1\r\nX-Multi: 2\r\nAccept: text/html\r\nAccept: application/json\r\n\r\n", true),
        ["empty-and-padded-values"] = ("GET /plain/e HTTP/1.1\r\n" + H + "X-Empty:\r\nX-Padded:   p   \r\nX-Tab: a\tb\r\n\r\n", true),
        ["head"] = ("HEAD /plain/h HTTP/1.1\r\n" + H + "\r\n", true),
        ["post"] = ("POST /plain/p?q=1 HTTP/1.1\r\n" + H + "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":\"hello\"}", true),
        ["post-empty"] = ("POST /plain/p HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n", true),
        ["get-with-zero-length"] = ("GET /plain/g HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n", true),
        ["put-and-delete"] = ("PUT /plain/u HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nabc", true),
        ["delete"] = ("DELETE /plain/d HTTP/1.1\r\n" + H + "\r\n", true),
        ["options"] = ("OPTIONS /plain/o HTTP/1.1\r\n" + H + "Origin: http://x.example\r\nAccess-Control-Request-Method: PUT\r\n\r\n", true),
        ["strip-prefix"] = ("GET /strip/a/b?q=1 HTTP/1.1\r\n" + H + "\r\n", true),
        ["preserve-host"] = ("GET /host/x?y=2 HTTP/1.1\r\nHost: Public.Example.com:8443\r\n\r\n", true),
        ["backend-path-prefix"] = ("GET /prefixed/x?y=1 HTTP/1.1\r\n" + H + "\r\n", true),
        ["special-path"] = ("GET /plain/a%20b/%22q%22/%7Bc%7D/caf%C3%A9/a%7Cb/x:y/@!$&'()*+,;=~/%25/%41%7e?q=%22%7C&r=a%2Bb&s=%E2%82%AC HTTP/1.1\r\n" + H + "\r\n", true),
        ["raw-special-chars-in-query"] = ("GET /plain/q?a=|&b={}&c=^&d=`&e=\"&f=[] HTTP/1.1\r\n" + H + "\r\n", true),
        ["absolute-form"] = ("GET http://api.example.com/plain/abs?x=1 HTTP/1.1\r\n" + H + "\r\n", true),
        ["api-key-kept-at-the-gateway"] = ("GET /keykept/x HTTP/1.1\r\n" + H + "X-API-Key: k-123456\r\nX-Other: o\r\n\r\n", true),
        ["api-key-forwarded"] = ("GET /keyfwd/x HTTP/1.1\r\n" + H + "X-API-Key: k-123456\r\n\r\n", true),
        ["jwt-kept-header"] = ("GET /jwtkept/x HTTP/1.1\r\n" + H + "Authorization: Bearer " + Jwt + "\r\n\r\n", true),
        ["jwt-kept-cookie"] = ("GET /jwtkept/x HTTP/1.1\r\n" + H + "Cookie: theme=dark; session=" + Jwt + "; lang=en\r\n\r\n", true),
        ["jwt-kept-query"] = ("GET /jwtkept/x?a=1&access_token=" + Jwt + "&b=2 HTTP/1.1\r\n" + H + "\r\n", true),
        ["jwt-forwarded"] = ("GET /jwtfwd/x HTTP/1.1\r\n" + H + "Authorization: Bearer " + Jwt + "\r\nX-User-Id: forged\r\n\r\n", true),
        ["non-ascii-header-value"] = ("GET /plain/n HTTP/1.1\r\n" + H + "X-Name: caf\u00c3\u00a9\r\n\r\n", true),
        ["get-with-body"] = ("GET /plain/gb HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello", true),
        ["connection-close"] = ("GET /plain/cc HTTP/1.1\r\n" + H + "Connection: close\r\nX-Kept: k\r\n\r\n", true),
        ["long-header"] = ("GET /plain/l HTTP/1.1\r\n" + H + "X-Long: " + new string('l', 8000) + "\r\n\r\n", true),
        ["lower-case-names"] = ("GET /plain/lc HTTP/1.1\r\nhost: api.example.com\r\nx-request-id: abc-123\r\nx-forwarded-for: 6.6.6.6\r\nx-user-id: eve\r\nconnection: x-secret\r\nx-secret: s\r\n\r\n", true),
        ["upgrade-goes-through-yarp"] = ("GET /plain/u HTTP/1.1\r\n" + H + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false),
    };

    public static TheoryData<string> DifferentialCaseNames() => new(DifferentialCases.Keys);

    [Theory]
    [MemberData(nameof(DifferentialCaseNames))]
    public async Task Backends_see_the_same_request_through_the_fast_path_and_yarp(string name)
    {
        var (differences, fastSeen, yarpSeen) = await CompareAsync(name);
        Assert.True(differences.Count == 0, $"{name}: the backend saw different requests\n" + string.Join('\n', differences)
            + $"\n--- fast path:\n{fastSeen?.Head}\n--- YARP:\n{yarpSeen?.Head}");
        Assert.Equal(fastSeen is null, yarpSeen is null);
        Assert.True(fastSeen is null || DifferentialCases[name].Fast == IsFastPathShape(fastSeen), $"fast path:\n{fastSeen?.Head}\nYARP:\n{yarpSeen?.Head}");
        Assert.True(yarpSeen is null || !IsFastPathShape(yarpSeen), yarpSeen?.Head);
    }

    /// <summary>Sends one case through a fast-path gateway and a YARP-only gateway to the same recording backend.</summary>
    private static async Task<(List<string> Differences, RecordedRequest? Fast, RecordedRequest? Yarp)> CompareAsync(string name)
    {
        var log = new ConcurrentQueue<RecordedRequest>();
        using var backend = Serve((request, connection) => connection.SendAsync(Ok("ok")), log);
        var config = DifferentialConfig(backend.Url);
        await using var fast = await TestGateway.StartAsync(config, http1FastPath: true);
        await using var yarp = await TestGateway.StartAsync(config, http1FastPath: false);
        var request = DifferentialCases[name].Request;

        var fastAnswer = await ExchangeAsync(fast.Port, request);
        await Task.Delay(50);
        var fastSeen = log.ToArray();
        log.Clear();
        var yarpAnswer = await ExchangeAsync(yarp.Port, request);
        await Task.Delay(50);
        var yarpSeen = log.ToArray();

        var differences = new List<string>();
        if (StatusLine(fastAnswer) != StatusLine(yarpAnswer))
        {
            differences.Add($"client status: fast path '{StatusLine(fastAnswer)}', YARP '{StatusLine(yarpAnswer)}'");
        }

        if (fastSeen.Length != yarpSeen.Length)
        {
            differences.Add($"requests at the backend: fast path {fastSeen.Length} ({string.Join(", ", fastSeen.Select(r => r.Method + " " + r.Target))}), "
                + $"YARP {yarpSeen.Length} ({string.Join(", ", yarpSeen.Select(r => r.Method + " " + r.Target))})");
        }

        var f = fastSeen.FirstOrDefault();
        var y = yarpSeen.FirstOrDefault();
        if (f is not null && y is not null)
        {
            if (f.Method != y.Method || f.Target != y.Target || f.Version != y.Version)
            {
                differences.Add($"request line: fast path '{f.Method} {f.Target} {f.Version}', YARP '{y.Method} {y.Target} {y.Version}'");
            }

            var fastHeaders = Normalize(f);
            var yarpHeaders = Normalize(y);
            foreach (var line in fastHeaders.Except(yarpHeaders))
            {
                differences.Add("only the fast path sent: " + line);
            }

            foreach (var line in yarpHeaders.Except(fastHeaders))
            {
                differences.Add("only YARP sent: " + line);
            }

            if (!f.Body.AsSpan().SequenceEqual(y.Body))
            {
                differences.Add($"body: fast path {f.Body.Length} bytes, YARP {y.Body.Length} bytes");
            }
        }

        return (differences, f, y);
    }

    /// <summary>Header lines as "name: value" (name lower-cased, values that are new on every request masked), sorted.</summary>
    private static List<string> Normalize(RecordedRequest request)
    {
        var lines = new List<string>();
        foreach (var (name, value) in request.Headers)
        {
            var lower = name.ToLowerInvariant();
            var shown = lower switch
            {
                "x-request-id" when value != "abc-123" => "(random)",
                "traceparent" => value.Length == 55 ? value[..36] + "(span)" + value[52..] : value,
                _ => value,
            };
            if (lower == "traceparent" && !value.StartsWith("00-0af7651916cd43dd8448eb211c80319c-", StringComparison.Ordinal))
            {
                shown = "(random)";
            }

            lines.Add(lower + ": " + shown);
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static string StatusLine(string response)
    {
        var end = response.IndexOf("\r\n", StringComparison.Ordinal);
        return end < 0 ? response : response[..end];
    }

    /// <summary>Sends one raw request (Latin-1) on a new connection and reads one response (framed by its head) or until close.</summary>
    private static async Task<string> ExchangeAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        var isHead = request.StartsWith("HEAD ", StringComparison.Ordinal);
        var received = new List<byte>();
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        try
        {
            while (true)
            {
                var text = Encoding.Latin1.GetString([.. received]);
                var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headEnd >= 0)
                {
                    var head = text[..headEnd];
                    var length = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                        .Select(p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault(-1);
                    var status = head.Length >= 12 ? head[9..12] : "";
                    if (isHead || status is "204" or "304" || (length >= 0 && text.Length - headEnd - 4 >= length)
                        || (length < 0 && text.EndsWith("0\r\n\r\n", StringComparison.Ordinal)))
                    {
                        return text;
                    }
                }

                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    return text;
                }

                received.AddRange(buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            return Encoding.Latin1.GetString([.. received]);
        }
    }
}

/// <summary>A request as a backend read it off the wire: its head line by line, and its body.</summary>
internal sealed record RecordedRequest(string Head, string Method, string Target, string Version, List<(string Name, string Value)> Headers)
{
    public byte[] Body { get; init; } = [];

    public string? Header(string name) => Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    public static RecordedRequest Parse(string head)
    {
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var headers = new List<(string, string)>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }

        return new RecordedRequest(head, requestLine[0], requestLine.Length > 1 ? requestLine[1] : "", requestLine.Length > 2 ? requestLine[2] : "", headers);
    }
}

/// <summary>A backend's side of one connection: requests one after the other, as an HTTP/1.1 server reads them.</summary>
internal sealed class BackendConnection(Socket socket)
{
    private readonly byte[] _read = new byte[64 * 1024];
    private byte[] _buffer = [];

    public Socket Socket => socket;

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await socket.SendAsync(bytes);

    /// <summary>The next request (head and Content-Length or chunked body), or null when the peer closed first.</summary>
    public async Task<RecordedRequest?> ReadRequestAsync()
    {
        int end;
        while ((end = _buffer.AsSpan().IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (!await FillAsync())
            {
                return null;
            }
        }

        var request = RecordedRequest.Parse(Encoding.Latin1.GetString(_buffer, 0, end));
        _buffer = _buffer[(end + 4)..];
        if (request.Header("Transfer-Encoding") is { } coding && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            return request with { Body = await ReadChunkedAsync() };
        }

        if (request.Header("Content-Length") is { } length)
        {
            return request with { Body = await ReadExactlyAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)) };
        }

        return request;
    }

    private async Task<bool> FillAsync()
    {
        var read = await socket.ReceiveAsync(_read);
        if (read == 0)
        {
            return false;
        }

        _buffer = [.. _buffer, .. _read.AsSpan(0, read)];
        return true;
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        while (_buffer.Length < count)
        {
            if (!await FillAsync())
            {
                throw new IOException("the connection closed in the middle of a body");
            }
        }

        var bytes = _buffer[..count];
        _buffer = _buffer[count..];
        return bytes;
    }

    private async Task<string> ReadLineAsync()
    {
        int end;
        while ((end = _buffer.AsSpan().IndexOf("\r\n"u8)) < 0)
        {
            if (!await FillAsync())
            {
                throw new IOException("the connection closed in the middle of a chunked body");
            }
        }

        var line = Encoding.Latin1.GetString(_buffer, 0, end);
        _buffer = _buffer[(end + 2)..];
        return line;
    }

    private async Task<byte[]> ReadChunkedAsync()
    {
        var body = new List<byte>();
        while (true)
        {
            var sizeLine = await ReadLineAsync();
            var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
            if (size == 0)
            {
                while ((await ReadLineAsync()).Length > 0)
                {
                }

                return [.. body];
            }

            body.AddRange(await ReadExactlyAsync(size));
            await ReadLineAsync();
        }
    }
}
