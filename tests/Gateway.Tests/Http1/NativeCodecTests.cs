using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Http1;

/// <summary>
/// How HTTP/1.1 connections are served, on raw sockets: keep-alive, pipelining, <c>Expect: 100-continue</c>,
/// backpressure towards a slow reader, slow and endless heads, idle connections, the hand-over of an upgrade, the
/// drain, HEAD, HTTP/1.0 and <c>Connection: close</c>. Each runs on both codecs (the answers must be the same);
/// what only the native codec promises (problem documents on its own refusals, for one) is checked on it alone.
/// </summary>
public sealed class NativeCodecTests
{
    private static string Config(string codec, string backendUrl, string server = "", string top = "") => $$$"""
        server: {host: 127.0.0.1, port: 0, http1_codec: {{{codec}}}{{{server}}}}
        {{{top}}}
        routes:
          - {path: /m, mock: {status: 200, body: "mocked"}}
          - {path: /m2, mock: {status: 200, body: "mocked-two"}}
          - {path: "/e/*rest", backend: "{{{backendUrl}}}"}
        """;

    private static string Get(string target, string marker, string extra = "") =>
        $"GET {target} HTTP/1.1\r\nHost: t\r\nX-Request-Id: {marker}\r\n{extra}\r\n";

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Keep_alive_serves_many_requests_on_one_connection_and_reuses_the_backend_connection(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        using var client = await WireClient.ConnectAsync(gateway.Port);
        for (var i = 0; i < 6; i++)
        {
            if (i % 2 == 0)
            {
                await client.SendAsync(Get($"/e/k{i}", $"k{i}"));
            }
            else
            {
                await client.SendAsync($"POST /e/k{i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: k{i}\r\nContent-Length: {i * 100}\r\n\r\n" + new string('b', i * 100));
            }

            var response = await client.ReadAsync();
            Assert.Equal(200, response.Status);
            Assert.False(response.SaysClose, $"request {i} closed the connection");
            Assert.Equal($"k{i}", response.Header("X-Request-Id"));
            var echo = EchoedRequest.Parse(response.Text);
            Assert.Equal($"/e/k{i}", echo.Target);
            Assert.Equal(i % 2 == 0 ? 0 : i * 100, echo.BodyBytes);
        }

        // A mock answer between backend ones keeps the connection too.
        await client.SendAsync(Get("/m", "mock"));
        Assert.Equal("mocked", (await client.ReadAsync()).Text);
        await client.SendAsync(Get("/e/last", "last"));
        Assert.Equal("/e/last", EchoedRequest.Parse((await client.ReadAsync()).Text).Target);
        Assert.Equal(7, backend.Requests);
        Assert.Equal(1, backend.Connections);
        Assert.Equal(0, client.Buffered);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Pipelined_requests_across_a_mock_and_a_backend_route_are_answered_in_order(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        using var client = await WireClient.ConnectAsync(gateway.Port);
        var requests = new (string Method, string Target, string Wire)[]
        {
            ("GET", "/m", Get("/m", "p0")),
            ("POST", "/e/p1", "POST /e/p1 HTTP/1.1\r\nHost: t\r\nX-Request-Id: p1\r\nContent-Length: 5\r\n\r\nhello"),
            ("GET", "/e/p2?q=1", Get("/e/p2?q=1", "p2")),
            ("HEAD", "/m2", "HEAD /m2 HTTP/1.1\r\nHost: t\r\nX-Request-Id: p3\r\n\r\n"),
            ("POST", "/e/p4", "POST /e/p4 HTTP/1.1\r\nHost: t\r\nX-Request-Id: p4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"),
            ("HEAD", "/e/p5", "HEAD /e/p5 HTTP/1.1\r\nHost: t\r\nX-Request-Id: p5\r\n\r\n"),
            ("GET", "/m2", Get("/m2", "p6")),
        };
        await client.SendAsync(string.Concat(requests.Select(r => r.Wire)));
        for (var i = 0; i < requests.Length; i++)
        {
            var (method, target, _) = requests[i];
            var response = await client.ReadAsync(toHead: method == "HEAD");
            Assert.Equal(200, response.Status);
            Assert.Equal($"p{i}", response.Header("X-Request-Id"));
            Assert.False(response.SaysClose);
            if (method == "HEAD")
            {
                continue;
            }

            if (target.StartsWith("/m", StringComparison.Ordinal))
            {
                Assert.Equal(target == "/m" ? "mocked" : "mocked-two", response.Text);
            }
            else
            {
                var echo = EchoedRequest.Parse(response.Text);
                Assert.Equal(method, echo.Method);
                Assert.Equal(target, echo.Target);
                Assert.Equal(method == "POST" ? (target == "/e/p1" ? 5 : 7) : 0, echo.BodyBytes);
            }
        }

        // Nothing more than the seven answers came (a HEAD answer with a body would leave bytes behind).
        await client.SendAsync(Get("/m", "tail"));
        var tail = await client.ReadAsync();
        Assert.Equal("tail", tail.Header("X-Request-Id"));
        Assert.Equal(0, client.Buffered);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Expect_100_continue_is_answered_when_the_request_is_forwarded(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        using var client = await WireClient.ConnectAsync(gateway.Port);
        foreach (var chunked in new[] { false, true })
        {
            await client.SendAsync($"POST /e/upload HTTP/1.1\r\nHost: t\r\n{(chunked ? "Transfer-Encoding: chunked" : "Content-Length: 11")}\r\nExpect: 100-continue\r\n\r\n");
            var interim = await client.ReadAsync();
            Assert.Equal(100, interim.Status);
            Assert.Equal(0, client.Buffered);
            await client.SendAsync(chunked ? "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n" : "hello world");
            var response = await client.ReadAsync();
            Assert.Equal(200, response.Status);
            var echo = EchoedRequest.Parse(response.Text);
            Assert.Equal("/e/upload", echo.Target);
            Assert.Equal(11, echo.BodyBytes);

            // The connection goes on after the exchange.
            Assert.False(response.SaysClose);
            await client.SendAsync(Get("/e/after", "after"));
            Assert.Equal("/e/after", EchoedRequest.Parse((await client.ReadAsync()).Text).Target);
        }
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Expect_100_continue_gets_a_413_or_401_instead_when_the_request_is_refused_from_its_head(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var top = "max_request_size: 10\nauth:\n  api_key: {keys: {\"sk_test_key_000000000001\": tester}}\n";
        var yaml = Config(codec, backend.Url, top: top) + $"\n  - {{path: /keyed, backend: \"{backend.Url}\", auth: {{required: true}}}}\n";
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, yaml);
        foreach (var (request, status) in new[]
        {
            ("POST /e/big HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", 413),
            ("POST /keyed HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 401),
        })
        {
            using var client = await WireClient.ConnectAsync(gateway.Port);
            await client.SendAsync(request);
            var response = await client.ReadAsync();
            Assert.Equal(status, response.Status);
            Assert.StartsWith("application/problem+json", response.Header("Content-Type"), StringComparison.Ordinal);
            if (codec == "native")
            {
                // The client may still send the body it held back: the connection cannot carry another request.
                Assert.True(response.SaysClose);
                Assert.True(await client.ClosesWithoutMoreAsync());
            }
        }

        Assert.Equal(0, backend.Requests);

        // With a key, the same request gets its 100 Continue.
        using var keyed = await WireClient.ConnectAsync(gateway.Port);
        await keyed.SendAsync("POST /keyed HTTP/1.1\r\nHost: t\r\nX-API-Key: sk_test_key_000000000001\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        Assert.Equal(100, (await keyed.ReadAsync()).Status);
        await keyed.SendAsync("hello");
        var accepted = await keyed.ReadAsync();
        Assert.Equal(200, accepted.Status);
        Assert.Equal(5, EchoedRequest.Parse(accepted.Text).BodyBytes);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_client_that_stops_reading_holds_the_backend_back_and_then_gets_every_byte(string codec)
    {
        const long total = 64L * 1024 * 1024;
        long written = 0;

        // A raw backend with a small send buffer: what it manages to write is what the gateway took in (plus that buffer).
        using var backend = RawBackend.Custom(async socket =>
        {
            socket.SendBufferSize = 64 * 1024;
            var received = new List<byte>();
            var buffer = new byte[4096];
            while (!Encoding.ASCII.GetString([.. received]).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await socket.ReceiveAsync(buffer);
                if (read == 0)
                {
                    return;
                }

                received.AddRange(buffer.AsSpan(0, read));
            }

            await socket.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nContent-Type: application/octet-stream\r\n\r\n"));
            var chunk = new byte[64 * 1024];
            for (long sent = 0; sent < total; sent += chunk.Length)
            {
                await socket.SendAsync(chunk);
                Interlocked.Add(ref written, chunk.Length);
            }
        });
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url, server: ", timeout_secs: 60"));
        using var client = await WireClient.ConnectAsync(gateway.Port, receiveBuffer: 64 * 1024, guard: TimeSpan.FromSeconds(60));
        await client.SendAsync(Get("/e/big", "big"));

        // The client reads nothing: the backend writes until the buffers between them are full, then waits.
        var stable = 0;
        var last = -1L;
        for (var polls = 0; polls < 60 && stable < 4; polls++)
        {
            await Task.Delay(250);
            var now = Interlocked.Read(ref written);
            stable = now == last && now > 0 ? stable + 1 : 0;
            last = now;
        }

        var whileStalled = Interlocked.Read(ref written);
        Assert.True(whileStalled > 0, "the backend never started writing");
        Assert.True(whileStalled < 16L * 1024 * 1024, $"the backend wrote {whileStalled} bytes to a client that reads nothing");

        var response = await client.ReadAsync(keepBody: false);
        Assert.Equal(200, response.Status);
        Assert.Equal(total, response.BodyLength);
        Assert.Equal(total, Interlocked.Read(ref written));
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_head_that_trickles_in_gets_408_and_the_connection_closes(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec,
            Config(codec, backend.Url, server: ", limits: {request_header_timeout_secs: 1, keep_alive_timeout_secs: 1}"));

        // On a new connection, and on one that has served a request already (the head timeout runs from its first byte).
        foreach (var servedOne in new[] { false, true })
        {
            using var client = await WireClient.ConnectAsync(gateway.Port);
            if (servedOne)
            {
                await client.SendAsync(Get("/m", "first"));
                Assert.Equal("mocked", (await client.ReadAsync()).Text);
            }

            var reading = client.TryReadAsync();
            var head = Encoding.ASCII.GetBytes("GET /e/slow HTTP/1.1\r\nHost: t\r\nX-Slow: " + new string('a', 60) + "\r\n\r\n");
            var sent = 0;
            while (sent < head.Length && !reading.IsCompleted)
            {
                try
                {
                    await client.SendAsync(head.AsMemory(sent, 1));
                }
                catch (SocketException)
                {
                    break;
                }

                sent++;
                await Task.WhenAny(reading, Task.Delay(300));
            }

            var response = await reading;
            Assert.NotNull(response);
            Assert.Equal(408, response.Status);
            Assert.True(response.SaysClose);
            Assert.True(sent < head.Length, "the whole head went out before the gateway gave up on it");
            Assert.True(await client.ClosesWithoutMoreAsync());
            if (codec == "native")
            {
                Assert.StartsWith("application/problem+json", response.Header("Content-Type"), StringComparison.Ordinal);
            }
        }

        Assert.Equal(0, backend.Requests);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task An_idle_keep_alive_connection_closes_without_a_response(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec,
            Config(codec, backend.Url, server: ", limits: {request_header_timeout_secs: 1, keep_alive_timeout_secs: 1}"));
        using var client = await WireClient.ConnectAsync(gateway.Port);
        await client.SendAsync(Get("/e/once", "once"));
        var response = await client.ReadAsync();
        Assert.Equal(200, response.Status);
        Assert.False(response.SaysClose);
        Assert.True(await client.ClosesWithoutMoreAsync());

        // A connection that never sends a byte goes quietly too.
        using var silent = await WireClient.ConnectAsync(gateway.Port);
        Assert.True(await silent.ClosesWithoutMoreAsync());
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Header_lines_that_never_end_get_431_and_the_connection_closes(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url, server: ", limits: {max_header_bytes: 4096}"));
        using var client = await WireClient.ConnectAsync(gateway.Port);
        var reading = client.TryReadAsync();
        await client.SendAsync("GET /e/endless HTTP/1.1\r\nHost: t\r\n");
        // Paced (a batch a millisecond or so), so that what went out measures what the gateway took in, not how fast
        // its answer travels; a gateway that took in everything would see all 8 MiB before answering.
        const long cap = 8L * 1024 * 1024;
        long sent = 0;
        var line = 0;
        while (!reading.IsCompleted && sent < cap)
        {
            var batch = new StringBuilder();
            for (var i = 0; i < 16; i++)
            {
                batch.Append("X-Filler-").Append(line++).Append(": ").Append('a', 60).Append("\r\n");
            }

            try
            {
                await client.SendAsync(batch.ToString());
            }
            catch (SocketException)
            {
                break;
            }

            sent += batch.Length;
            await Task.Delay(1);
        }

        var response = await reading;
        Assert.NotNull(response);
        Assert.Equal(431, response.Status);
        Assert.True(response.SaysClose);
        Assert.True(sent < 2L * 1024 * 1024, $"{sent} bytes of head were taken in before the refusal");
        Assert.True(await client.ClosesWithoutMoreAsync());
        if (codec == "native")
        {
            Assert.StartsWith("application/problem+json", response.Header("Content-Type"), StringComparison.Ordinal);
        }

        Assert.Equal(0, backend.Requests);
    }

    [Theory]
    [InlineData("native", false)]
    [InlineData("native", true)]
    [InlineData("kestrel", false)]
    [InlineData("kestrel", true)]
    public async Task A_websocket_upgrade_after_plain_requests_on_the_same_connection_is_handed_over(string codec, bool pipelined)
    {
        await using var app = await StartWebSocketEchoAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        var yaml = Config(codec, $"http://127.0.0.1:{port}") + $"\n  - {{path: \"/ws/*rest\", backend: \"http://127.0.0.1:{port}\"}}\n";
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, yaml);
        using var client = await WireClient.ConnectAsync(gateway.Port);
        await client.SendAsync(Get("/m", "w0"));
        Assert.Equal("mocked", (await client.ReadAsync()).Text);
        var upgrade = "GET /ws/chat HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

        // Pipelined: the upgrade request is already in the buffer while the plain one before it is served.
        await client.SendAsync(Get("/ws/plain", "w1") + (pipelined ? upgrade : ""));
        var plain = await client.ReadAsync();
        Assert.Equal(200, plain.Status);
        Assert.Equal("plain", plain.Text);
        Assert.False(plain.SaysClose);
        if (!pipelined)
        {
            await client.SendAsync(upgrade);
        }

        var switching = await client.ReadAsync();
        Assert.Equal(101, switching.Status);
        Assert.True(switching.HasToken("Upgrade", "websocket"));
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", switching.Header("Sec-WebSocket-Accept"));
        Assert.Equal(0, client.Buffered);

        using var socket = WebSocket.CreateFromStream(client.Stream, new WebSocketCreationOptions { IsServer = false });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[1024];
        foreach (var message in new[] { "hello", "again" })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal(WebSocketMessageType.Text, received.MessageType);
            Assert.Equal("echo:" + message, Encoding.UTF8.GetString(buffer, 0, received.Count));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Draining_finishes_in_flight_requests_with_connection_close_and_closes_idle_connections(string codec)
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            arrived.TrySetResult();
            await Task.Delay(1000);
            await context.Response.WriteAsync("done");
        });
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url, server: ", shutdown_timeout_secs: 20"));
        using var idle = await WireClient.ConnectAsync(gateway.Port);
        await idle.SendAsync(Get("/m", "idle"));
        Assert.Equal("mocked", (await idle.ReadAsync()).Text);
        using var busy = await WireClient.ConnectAsync(gateway.Port);
        await busy.SendAsync(Get("/e/slow", "busy"));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(15));

        var stopping = gateway.StopAsync();
        Assert.True(await idle.ClosesWithoutMoreAsync());

        // The listener is gone: a new connection is refused, or closed without an answer.
        using (var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            var refused = false;
            try
            {
                await late.ConnectAsync(IPAddress.Loopback, gateway.Port);
                await late.SendAsync(Encoding.ASCII.GetBytes(Get("/m", "late")));
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                refused = await late.ReceiveAsync(new byte[256], timeout.Token) == 0;
            }
            catch (SocketException)
            {
                refused = true;
            }

            Assert.True(refused, "a connection made during the drain was served");
        }

        var response = await busy.ReadAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("done", response.Text);
        Assert.True(response.SaysClose);
        Assert.True(await busy.ClosesWithoutMoreAsync());
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, backend.Requests);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Head_responses_carry_no_body_and_the_connection_goes_on(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        using var client = await WireClient.ConnectAsync(gateway.Port);

        // Each HEAD is followed at once by a GET in the same write: a body after a HEAD answer would be read as the
        // next response's head.
        foreach (var target in new[] { "/m", "/e/head" })
        {
            await client.SendAsync($"HEAD {target} HTTP/1.1\r\nHost: t\r\nX-Request-Id: h\r\n\r\n" + Get(target, "g"));
            var head = await client.ReadAsync(toHead: true);
            var get = await client.ReadAsync();
            Assert.Equal(200, head.Status);
            Assert.Equal("h", head.Header("X-Request-Id"));
            Assert.False(head.Chunked && head.Header("Content-Length") is not null);
            if (head.Header("Content-Length") is { } length && target == "/m")
            {
                Assert.Equal(get.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), length);
            }

            Assert.Equal(200, get.Status);
            Assert.Equal("g", get.Header("X-Request-Id"));
            if (target == "/m")
            {
                Assert.Equal("mocked", get.Text);
            }
            else
            {
                Assert.Equal("GET", EchoedRequest.Parse(get.Text).Method);
            }
        }

        Assert.Equal(0, client.Buffered);
        Assert.Equal(2, backend.Requests);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Http10_closes_unless_keep_alive_is_asked_and_is_never_answered_chunked(string codec)
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            // No length: the gateway gets it chunked and must frame it otherwise for an HTTP/1.0 client.
            await context.Response.WriteAsync("part one, ");
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync("part two");
        });
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));

        // Without keep-alive the connection closes after the answer.
        using (var plain = await WireClient.ConnectAsync(gateway.Port))
        {
            await plain.SendAsync("GET /m HTTP/1.0\r\n\r\n");
            var response = await plain.ReadAsync();
            Assert.Matches("^HTTP/1\\.[01]$", response.Version);
            Assert.Equal("mocked", response.Text);
            Assert.False(response.Chunked);
            Assert.False(response.HasToken("Connection", "keep-alive"));
            Assert.True(await plain.ClosesWithoutMoreAsync());
        }

        // Asked for, keep-alive is granted when the length is known.
        using (var kept = await WireClient.ConnectAsync(gateway.Port))
        {
            await kept.SendAsync("GET /m HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            var first = await kept.ReadAsync();
            Assert.Equal("mocked", first.Text);
            Assert.True(first.HasToken("Connection", "keep-alive"));
            await kept.SendAsync("GET /m2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            Assert.Equal("mocked-two", (await kept.ReadAsync()).Text);
        }

        // A body of unknown length goes to an HTTP/1.0 client delimited by the close, whatever the client asked.
        foreach (var extra in new[] { "", "Connection: keep-alive\r\n" })
        {
            using var streamed = await WireClient.ConnectAsync(gateway.Port);
            await streamed.SendAsync($"GET /e/stream HTTP/1.0\r\nHost: t\r\n{extra}\r\n");
            var response = await streamed.ReadAsync();
            Assert.Equal(200, response.Status);
            Assert.False(response.Chunked);
            Assert.Null(response.Header("Transfer-Encoding"));
            Assert.Equal("part one, part two", response.Text);
            Assert.True(await streamed.ClosesWithoutMoreAsync());
        }
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task An_answer_given_before_a_large_body_was_read_reaches_the_client_still_sending_it(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        var piece = new byte[64 * 1024];
        Array.Fill(piece, (byte)'x');
        const int pieces = 64;
        foreach (var chunked in new[] { false, true })
        {
            using var client = await WireClient.ConnectAsync(gateway.Port);

            // The mock answers without reading the 4 MiB body, while the client is still busy sending it.
            var sending = Task.Run(async () =>
            {
                await client.SendAsync(chunked
                    ? "POST /m HTTP/1.1\r\nHost: t\r\nX-Request-Id: big\r\nTransfer-Encoding: chunked\r\n\r\n"
                    : $"POST /m HTTP/1.1\r\nHost: t\r\nX-Request-Id: big\r\nContent-Length: {pieces * piece.Length}\r\n\r\n");
                for (var i = 0; i < pieces; i++)
                {
                    if (chunked)
                    {
                        await client.SendAsync($"{piece.Length:x}\r\n");
                    }

                    await client.SendAsync(piece);
                    if (chunked)
                    {
                        await client.SendAsync("\r\n");
                    }
                }

                if (chunked)
                {
                    await client.SendAsync("0\r\n\r\n");
                }

                client.Socket.Shutdown(SocketShutdown.Send);
            });
            var response = await client.ReadAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("big", response.Header("X-Request-Id"));
            Assert.Equal("mocked", response.Text);
            await sending;
            if (codec == "native")
            {
                // Too much body to read and drop: this was the last answer on the connection, which closes once the
                // client is done sending.
                Assert.True(response.SaysClose);
                Assert.True(await client.ClosesWithoutMoreAsync());
            }
        }
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Connection_close_is_honoured_and_what_was_pipelined_after_it_is_not_answered(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        foreach (var first in new[]
        {
            Get("/m", "c", "Connection: close\r\n"),
            "POST /e/c HTTP/1.1\r\nHost: t\r\nX-Request-Id: c\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody",
            "GET /e/c HTTP/1.1\r\nHost: t\r\nX-Request-Id: c\r\nConnection: Keep-Alive, Close\r\n\r\n",
        })
        {
            using var client = await WireClient.ConnectAsync(gateway.Port);
            await client.SendAsync(first + Get("/m2", "after"));
            var response = await client.ReadAsync();
            Assert.Equal(200, response.Status);
            Assert.Equal("c", response.Header("X-Request-Id"));
            Assert.True(response.SaysClose);
            Assert.True(await client.ClosesWithoutMoreAsync());
        }

        Assert.Equal(2, backend.Requests);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Every_response_carries_exactly_one_date_header(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        using var client = await WireClient.ConnectAsync(gateway.Port);
        foreach (var (method, target) in new[] { ("GET", "/m"), ("GET", "/e/date"), ("HEAD", "/e/date"), ("POST", "/e/date"), ("GET", "/nowhere") })
        {
            await client.SendAsync($"{method} {target} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
            var response = await client.ReadAsync(toHead: method == "HEAD");
            var dates = response.Headers.Where(h => string.Equals(h.Key, "Date", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
            Assert.True(dates.Count == 1, $"{method} {target} -> {response.Status} with {dates.Count} Date headers: {string.Join(" | ", dates)}");
        }
    }

    /// <summary>A backend that answers plain requests with "plain" and echoes WebSocket messages with "echo:".</summary>
    private static async Task<WebApplication> StartWebSocketEchoAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await context.Response.WriteAsync("plain");
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }

                var reply = Encoding.UTF8.GetBytes("echo:" + Encoding.UTF8.GetString(buffer, 0, received.Count));
                await socket.SendAsync(reply, WebSocketMessageType.Text, true, CancellationToken.None);
            }
        });
        await app.StartAsync();
        return app;
    }
}
