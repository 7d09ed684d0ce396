using System.Text;

namespace Gateway.Tests.Http1;

/// <summary>
/// What a hostile review of the native codec found, each pinned: slow but steady uploads through the HttpClient sender,
/// bodies that trickle, Unicode whitespace in framing headers, upgrades other than WebSocket, connections handed to
/// Kestrel, and request bodies still being copied when a backend answers first.
/// </summary>
public sealed class CodecReviewTests
{
    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_steady_chunked_upload_longer_than_the_timeout_succeeds_and_never_opens_the_breaker(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, $$"""
            routes:
              - path: /up/*rest
                backend: "{{backend.Url}}"
                timeout_secs: 2
                circuit_breaker: {failure_threshold: 1, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}
            """);
        using var client = await WireClient.ConnectAsync(gateway.Port);
        await client.SendAsync("POST /up/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (var i = 0; i < 8; i++)
        {
            // A piece every 0.5 s for 4 s: the upload outlasts the 2 s timeout but never stops for it.
            await client.SendAsync("100\r\n" + new string('x', 256) + "\r\n");
            await Task.Delay(500);
        }

        await client.SendAsync("0\r\n\r\n");
        var response = await client.ReadAsync();
        Assert.True(200 == response.Status, response.Text);
        Assert.Equal(8 * 256, EchoedRequest.Parse(response.Text).BodyBytes);
        Assert.All(gateway.Host.State.Backends.Values, b => Assert.Equal(Gateway.Resilience.BreakerState.Closed, b.Breaker!.State));
    }

    [Fact]
    public async Task A_body_that_trickles_below_the_minimum_rate_is_refused_and_never_counts_against_the_backend()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync("native", $$"""
            routes:
              - path: /up/*rest
                backend: "{{backend.Url}}"
                timeout_secs: 30
                circuit_breaker: {failure_threshold: 1, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}
            """);
        using var client = await WireClient.ConnectAsync(gateway.Port, guard: TimeSpan.FromSeconds(30));
        await client.SendAsync("POST /up/x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
        WireResponse? response = null;
        var reading = client.TryReadAsync();
        for (var i = 0; i < 12 && !reading.IsCompleted; i++)
        {
            // One byte a second: far below 240 bytes per second once the 5 s of grace are over.
            try
            {
                await client.SendAsync("x");
            }
            catch (IOException)
            {
                break;
            }

            await Task.WhenAny(reading, Task.Delay(1000));
        }

        response = await reading;
        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        Assert.Contains("too slowly", response.Text, StringComparison.Ordinal);
        Assert.All(gateway.Host.State.Backends.Values, b =>
        {
            Assert.Equal(0, b.Errors);
            Assert.Equal(Gateway.Resilience.BreakerState.Closed, b.Breaker!.State);
        });
    }

    [Theory]
    [InlineData("native", "chunked\u00a0")]
    [InlineData("native", "\u2003chunked")]
    [InlineData("native", "chunked\u3000")]
    [InlineData("kestrel", "chunked\u00a0")]
    public async Task Transfer_encoding_padded_with_unicode_whitespace_is_not_chunked(string codec, string value)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, $$"""
            routes:
              - {path: /e/*rest, backend: "{{backend.Url}}"}
            """);
        using var client = await WireClient.ConnectAsync(gateway.Port);
        var smuggled = "GET /e/SMUGGLED HTTP/1.1\r\nHost: t\r\n\r\n";
        await client.SendAsync(Encoding.UTF8.GetBytes($"POST /e/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {value}\r\n\r\n{smuggled.Length:x}\r\n{smuggled}\r\n0\r\n\r\n"));
        var response = await client.TryReadAsync();
        Assert.True(response is null || response.Status == 400, $"{codec} answered {response?.Status} to Transfer-Encoding '{value}'");
        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task An_upgrade_other_than_websocket_is_served_by_the_native_codec_and_what_follows_is_still_its_to_parse()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync("native", $$"""
            routes:
              - {path: /e/*rest, backend: "{{backend.Url}}"}
            """);
        using var client = await WireClient.ConnectAsync(gateway.Port);
        await client.SendAsync("GET /e/up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"
            + "POST /e/plus HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc");
        var first = await client.ReadAsync();
        Assert.Equal(200, first.Status);
        var echoed = EchoedRequest.Parse(first.Text);
        Assert.Null(echoed.Header("Upgrade"));
        var second = await client.ReadAsync();
        Assert.Equal(400, second.Status);
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task A_connection_handed_to_kestrel_for_a_websocket_upgrade_that_does_not_switch_is_closed_after_its_answer()
    {
        await using var gateway = await TestGateway.StartOnCodecAsync("native", """
            routes:
              - {path: /ws, mock: {status: 200, body: "no websocket here"}}
              - {path: /after, mock: {status: 200, body: "served"}}
            """);
        using var client = await WireClient.ConnectAsync(gateway.Port);
        await client.SendAsync("GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            + "GET /after HTTP/1.1\r\nHost: t\r\nContent-Length: +0\r\n\r\n");
        var first = await client.ReadAsync();
        Assert.Equal(200, first.Status);
        Assert.True(first.SaysClose, "a handed-over connection that did not switch protocols must end with its answer");
        Assert.True(await client.ClosesWithoutMoreAsync());
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_backend_that_answers_before_the_body_ends_leaves_no_body_bytes_to_be_read_as_a_request(string codec)
    {
        // An h2c backend (another gateway) that answers without reading the body, behind YARP's duplex HTTP/2 copy.
        await using var echo = await TestBackend.StartEchoAsync();
        await using var h2 = await TestGateway.StartAsync("""
            server: {host: 127.0.0.1, port: 0, http2: true}
            routes:
              - {path: /x, mock: {status: 200, body: "early"}}
            """);
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, $$"""
            routes:
              - {path: /h2c/*rest, backend: "http://127.0.0.1:{{h2.Port}}", backend_protocol: h2c, strip_prefix: true}
              - {path: /echo/*rest, backend: "{{echo.Url}}"}
            """);
        var line = "GET /echo/IN-THE-BODY-1 HTTP/1.1\r\nHost: t\r\n\r\n";
        var body = string.Concat(Enumerable.Repeat(line, (60_000 / line.Length) + 1))[..60_000];
        var answered = 0;
        for (var round = 0; round < 20; round++)
        {
            using var client = await WireClient.ConnectAsync(gateway.Port);
            try
            {
                await client.SendAsync($"POST /h2c/x HTTP/1.1\r\nHost: t\r\nContent-Length: {body.Length}\r\n\r\n");
                var reading = client.TryReadAsync();
                for (var sent = 0; sent < body.Length; sent += 16 * 1024)
                {
                    await client.SendAsync(body.Substring(sent, Math.Min(16 * 1024, body.Length - sent)));
                    await Task.Delay(150);
                }

                // Either the body was all read (the connection stays) or the connection ends; never a request out of its bytes.
                var got = await reading;
                Assert.True(got is null || got.Status == 200, $"round {round}: {got?.Status}");
                answered += got?.Status == 200 ? 1 : 0;
                await Task.Delay(20);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                // The gateway may close a connection whose body it will not read; that is allowed.
            }
        }

        // The native codec reads the rest of the body and answers every time; Kestrel's layer may close instead
        // (README, known limitations), but it must never read a request out of the body.
        Assert.True(codec == "kestrel" || answered == 20, $"{answered} of 20 rounds got the backend's answer");
        Assert.Equal(0, echo.Requests);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_connection_given_up_on_after_an_early_answer_never_serves_the_unread_body_as_a_request(string codec)
    {
        // The same early answer, with a body sent at once and far longer than the gateway drains (1 MiB): the gateway
        // gives up on the rest and ends the connection while much of it is still buffered. The body is blank lines
        // with a request line every 4 KB: Kestrel's parser skips blank lines before a request line, so wherever a
        // parse of this body started, it would reach a planted request rather than a 400.
        await using var echo = await TestBackend.StartEchoAsync();
        await using var h2 = await TestGateway.StartAsync("""
            server: {host: 127.0.0.1, port: 0, http2: true}
            routes:
              - {path: /x, mock: {status: 200, body: "early"}}
            """);
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, $$"""
            routes:
              - {path: /h2c/*rest, backend: "http://127.0.0.1:{{h2.Port}}", backend_protocol: h2c, strip_prefix: true}
              - {path: /echo/*rest, backend: "{{echo.Url}}"}
            """);
        var block = string.Concat(Enumerable.Repeat("\r\n", 2000)) + "GET /echo/IN-THE-BODY-2 HTTP/1.1\r\nHost: t\r\n\r\n";
        var body = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(block, (3 * 1024 * 1024 / block.Length) + 1)));
        for (var round = 0; round < 10; round++)
        {
            using var client = await WireClient.ConnectAsync(gateway.Port);
            try
            {
                await client.SendAsync($"POST /h2c/x HTTP/1.1\r\nHost: t\r\nContent-Length: {body.Length}\r\n\r\n");
                var reading = client.TryReadAsync();
                var sending = client.SendAsync(body);
                var got = await reading;
                Assert.True(got is null || got.Status == 200, $"round {round}: {got?.Status}");
                try
                {
                    await sending;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    // The rest of the body may be refused by the closing connection.
                }

                await Task.Delay(100);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                // The gateway may close a connection whose body it will not read; that is allowed.
            }
        }

        Assert.Equal(0, echo.Requests);
    }

    [Fact]
    public async Task An_http2_backend_that_answers_before_the_upload_ends_is_heard_before_the_body_arrives()
    {
        await using var h2 = await TestGateway.StartAsync("""
            server: {host: 127.0.0.1, port: 0, http2: true}
            routes:
              - {path: /x, mock: {status: 200, body: "early"}}
            """);
        await using var gateway = await TestGateway.StartOnCodecAsync("native", $$"""
            routes:
              - {path: /h2c/*rest, backend: "http://127.0.0.1:{{h2.Port}}", backend_protocol: h2c, strip_prefix: true, timeout_secs: 20}
            """);
        using var client = await WireClient.ConnectAsync(gateway.Port, guard: TimeSpan.FromSeconds(20));
        await client.SendAsync("POST /h2c/x HTTP/1.1\r\nHost: t\r\nContent-Length: 41\r\n\r\n");
        var reading = client.TryReadAsync();
        // The body is held back until the answer came or 10 s passed: a sender that waits for the whole body first never answers in time.
        var first = await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(reading, first);
        var response = await reading;
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.Equal("early", response.Text);
    }
}
