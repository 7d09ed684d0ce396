using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Gateway.Tests.Forwarding;

/// <summary>The real gateway in front of real loopback backends.</summary>
public sealed class ForwardingTests
{
    private static string Routes(string backend, string extra = "") => $$"""
        routes:
          - id: users
            path: /api/users/:id
            backend: {{backend}}
            methods: [GET, PUT]
          - id: products
            path: /v1/products/*path
            backend: {{backend}}
            strip_prefix: true
          - id: host
            path: /host
            backend: {{backend}}
            preserve_host: true
          - id: raw
            path: /raw/*rest
            backend: {{backend}}
            allow_encoded_slashes: true
          - id: echo
            path: /echo/*rest
            backend: {{backend}}/base/
          - id: mock
            path: /hello
            mock:
              status: 201
              headers: {X-Mock: "yes", Content-Type: "application/json"}
              body: '{"hi":true}'
        {{extra}}
        """;

    [Fact]
    public async Task Forwards_the_matched_path_and_query_with_forwarding_headers()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users/42?x=1&y=%2F");
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        request.Headers.Add("X-Forwarded-Host", "evil.example");
        request.Headers.Add("X-Custom", "kept");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = await EchoedRequest.ReadAsync(response);
        Assert.Equal("/api/users/42?x=1&y=%2F", echo.Target);
        Assert.Equal("127.0.0.1", echo.Header("X-Forwarded-For"));
        Assert.Equal("http", echo.Header("X-Forwarded-Proto"));
        Assert.Equal($"127.0.0.1:{gateway.Port}", echo.Header("X-Forwarded-Host"));
        Assert.Equal($"127.0.0.1:{backend.Port}", echo.Header("Host"));
        Assert.Equal("kept", echo.Header("X-Custom"));
        var requestId = Assert.Single(response.Headers.GetValues("X-Request-Id"));
        Assert.Equal(requestId, echo.Header("X-Request-Id"));
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", echo.Header("traceparent"));
    }

    [Fact]
    public async Task Keeps_a_valid_request_id_and_trace_and_replaces_invalid_ones()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));

        using var good = new HttpRequestMessage(HttpMethod.Get, "/api/users/1");
        good.Headers.Add("X-Request-Id", "abc-123");
        good.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        good.Headers.Add("tracestate", "vendor=x");
        using var goodResponse = await gateway.Client.SendAsync(good);
        var echo = await EchoedRequest.ReadAsync(goodResponse);
        Assert.Equal("abc-123", echo.Header("X-Request-Id"));
        Assert.Equal("abc-123", goodResponse.Headers.GetValues("X-Request-Id").Single());
        var traceparent = echo.Header("traceparent")!;
        Assert.StartsWith("00-0af7651916cd43dd8448eb211c80319c-", traceparent, StringComparison.Ordinal);
        Assert.EndsWith("-01", traceparent, StringComparison.Ordinal);
        Assert.DoesNotContain("b7ad6b7169203331", traceparent, StringComparison.Ordinal);
        Assert.Equal("vendor=x", echo.Header("tracestate"));

        using var bad = new HttpRequestMessage(HttpMethod.Get, "/api/users/1");
        bad.Headers.TryAddWithoutValidation("X-Request-Id", "has spaces and \"quotes\"");
        bad.Headers.TryAddWithoutValidation("traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01");
        using var badResponse = await gateway.Client.SendAsync(bad);
        var echoBad = await EchoedRequest.ReadAsync(badResponse);
        Assert.Matches("^[0-9a-f]{32}$", echoBad.Header("X-Request-Id"));
        Assert.DoesNotContain("00000000000000000000000000000000", echoBad.Header("traceparent"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Strip_prefix_preserve_host_and_backend_path_prefix()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));

        var stripped = await EchoedRequest.ReadAsync(await gateway.Client.GetAsync("/v1/products/a/b?q=1"));
        Assert.Equal("/a/b?q=1", stripped.Target);
        var empty = await EchoedRequest.ReadAsync(await gateway.Client.GetAsync("/v1/products"));
        Assert.Equal("/", empty.Target);

        using var hostRequest = new HttpRequestMessage(HttpMethod.Get, "/host");
        hostRequest.Headers.Host = "public.example.com";
        var preserved = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(hostRequest));
        Assert.Equal("public.example.com", preserved.Header("Host"));
        Assert.Equal("public.example.com", preserved.Header("X-Forwarded-Host"));

        var prefixed = await EchoedRequest.ReadAsync(await gateway.Client.GetAsync("/echo/x"));
        Assert.Equal("/base/echo/x", prefixed.Target);
    }

    [Fact]
    public async Task The_backend_receives_the_normalized_path_that_was_matched()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));

        var response = await gateway.SendRawAsync("GET /v1/x/../products/%61/./b//c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.Contains("\"Target\":\"/a/b/c\"", response, StringComparison.Ordinal);

        var encoded = await gateway.SendRawAsync("GET /raw/a%2Fb HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", encoded, StringComparison.Ordinal);
        Assert.Contains("\"Target\":\"/raw/a%2Fb\"", encoded, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /api/users/a%2Fb HTTP/1.1", "400")]
    [InlineData("GET /api/users/a%5Cb HTTP/1.1", "400")]
    [InlineData("GET /api/users/a%00b HTTP/1.1", "400")]
    [InlineData("GET /api/users/..;x/1 HTTP/1.1", "400")]
    [InlineData("GET /api/users/%zz HTTP/1.1", "400")]
    [InlineData("GET /api/users/%2e%2e/%2e%2e/hello HTTP/1.1", "201")]
    public async Task Refused_and_normalized_paths(string requestLine, string status)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        var response = await gateway.SendRawAsync(requestLine + "\r\nHost: t\r\nConnection: close\r\n\r\n");
        Assert.StartsWith($"HTTP/1.1 {status}", response, StringComparison.Ordinal);
        if (status == "400" && !requestLine.Contains("%00", StringComparison.Ordinal))
        {
            Assert.Contains("application/problem+json", response, StringComparison.Ordinal);
            Assert.Equal(0, backend.Requests);
        }
    }

    [Fact]
    public async Task Hop_by_hop_and_connection_nominated_headers_are_removed_but_gateway_headers_stay()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        var response = await gateway.SendRawAsync(
            "GET /api/users/1 HTTP/1.1\r\nHost: t\r\nConnection: X-Secret, X-Forwarded-For, X-Request-Id, traceparent\r\n"
            + "X-Secret: s\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\nX-Other: o\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        var echo = EchoedRequest.Parse(response);
        foreach (var name in new[] { "X-Secret", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade" })
        {
            Assert.Null(echo.Header(name));
        }

        Assert.Equal("o", echo.Header("X-Other"));
        Assert.Equal("127.0.0.1", echo.Header("X-Forwarded-For"));
        Assert.NotNull(echo.Header("X-Request-Id"));
        Assert.NotNull(echo.Header("traceparent"));
    }

    [Fact]
    public async Task Trusted_proxies_extend_the_forwarded_chain()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync("server:\n  host: 127.0.0.1\n  port: 0\n  trusted_proxies: [127.0.0.0/8]\n" + Routes(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users/1");
        request.Headers.Add("X-Forwarded-For", "203.0.113.9, 10.1.1.1");
        request.Headers.Add("X-Forwarded-Proto", "https");
        var echo = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(request));
        Assert.Equal("203.0.113.9, 10.1.1.1, 127.0.0.1", echo.Header("X-Forwarded-For"));
        Assert.Equal("https", echo.Header("X-Forwarded-Proto"));
        var access = (await gateway.LogLinesAsync(l => l.Any(x => x.Contains("\"type\":\"access\"", StringComparison.Ordinal))))
            .Last(l => l.Contains("\"type\":\"access\"", StringComparison.Ordinal));
        Assert.Contains("\"client_ip\":\"10.1.1.1\"", access, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bodies_stream_both_ways()
    {
        const int size = 8 * 1024 * 1024;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            if (context.Request.Path == "/v1/products/download")
            {
                context.Response.ContentLength = size;
                var chunk = new byte[64 * 1024];
                for (var sent = 0; sent < size; sent += chunk.Length)
                {
                    await context.Response.Body.WriteAsync(chunk);
                }

                return;
            }

            await TestBackend.EchoAsync(context);
        });
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url).Replace("strip_prefix: true", "strip_prefix: false", StringComparison.Ordinal));

        using var upload = new StreamContent(new ChunkedSource(size));
        var echo = await EchoedRequest.ReadAsync(await gateway.Client.PutAsync("/api/users/1", upload));
        Assert.Equal(size, echo.BodyBytes);
        Assert.Equal("PUT", echo.Method);

        using var response = await gateway.Client.GetAsync("/v1/products/download", HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        long total = 0;
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        Assert.Equal(size, total);
    }

    [Fact]
    public async Task Mock_routes_answer_directly_and_errors_are_problem_documents()
    {
        await using var gateway = await TestGateway.StartAsync(Routes("http://127.0.0.1:1"));
        using var hello = await gateway.Client.GetAsync("/hello");
        Assert.Equal(HttpStatusCode.Created, hello.StatusCode);
        Assert.Equal("yes", hello.Headers.GetValues("X-Mock").Single());
        Assert.Equal("{\"hi\":true}", await hello.Content.ReadAsStringAsync());
        Assert.Equal("application/json", hello.Content.Headers.ContentType!.MediaType);

        using var notFound = await gateway.Client.GetAsync("/nowhere");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        await AssertProblemAsync(notFound, 404);

        using var notAllowed = await gateway.Client.DeleteAsync("/api/users/1");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, notAllowed.StatusCode);
        Assert.Equal(["GET", "PUT"], notAllowed.Content.Headers.Allow.Order(StringComparer.Ordinal));
        await AssertProblemAsync(notAllowed, 405);
    }

    [Fact]
    public async Task Refused_backend_is_a_fast_502()
    {
        await using var gateway = await TestGateway.StartAsync(Routes($"http://127.0.0.1:{RawBackend.RefusedPort()}"));
        using var response = await gateway.Client.GetAsync("/api/users/1");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = await AssertProblemAsync(response, 502);
        Assert.Contains("refused", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_and_reset_backends_are_502()
    {
        using var garbage = RawBackend.Garbage();
        using var reset = RawBackend.ResetBeforeResponse();
        await using var gateway = await TestGateway.StartAsync($$"""
            routes:
              - {path: /garbage, backend: "{{garbage.Url}}"}
              - {path: /reset, backend: "{{reset.Url}}"}
            """);
        using var garbled = await gateway.Client.GetAsync("/garbage");
        Assert.Equal(HttpStatusCode.BadGateway, garbled.StatusCode);
        await AssertProblemAsync(garbled, 502);
        using var wasReset = await gateway.Client.GetAsync("/reset");
        Assert.Equal(HttpStatusCode.BadGateway, wasReset.StatusCode);
        await AssertProblemAsync(wasReset, 502);
    }

    [Fact]
    public async Task Reset_mid_body_aborts_the_client_response()
    {
        using var reset = RawBackend.ResetMidBody();
        await using var gateway = await TestGateway.StartAsync($"routes:\n  - {{path: /reset, backend: \"{reset.Url}\"}}\n");
        using var response = await gateway.Client.GetAsync("/reset", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(async () => await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Hanging_backend_times_out_with_504_at_the_route_timeout()
    {
        using var hang = RawBackend.Hang();
        await using var gateway = await TestGateway.StartAsync($$"""
            server: {host: 127.0.0.1, port: 0, timeout_secs: 30}
            routes:
              - {path: /slow, backend: "{{hang.Url}}", timeout_secs: 1}
            """);
        var started = DateTime.UtcNow;
        using var response = await gateway.Client.GetAsync("/slow");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        await AssertProblemAsync(response, 504);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Limits_answer_413_414_431_and_400_for_smuggling_framing()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(
            "server:\n  host: 127.0.0.1\n  port: 0\n  limits: {max_uri_bytes: 256, max_headers: 20, max_header_bytes: 2048}\nmax_request_size: 1000\n" + Routes(backend.Url));

        using var tooBig = await gateway.Client.PutAsync("/api/users/1", new ByteArrayContent(new byte[5000]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        await AssertProblemAsync(tooBig, 413);

        using var chunkedTooBig = await gateway.Client.PutAsync("/api/users/1", new StreamContent(new ChunkedSource(5000)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunkedTooBig.StatusCode);

        using var fits = await gateway.Client.PutAsync("/api/users/1", new ByteArrayContent(new byte[900]));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);

        using var longUri = await gateway.Client.GetAsync("/api/users/" + new string('a', 300));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, longUri.StatusCode);
        await AssertProblemAsync(longUri, 414);

        using var manyHeaders = new HttpRequestMessage(HttpMethod.Get, "/api/users/1");
        for (var i = 0; i < 25; i++)
        {
            manyHeaders.Headers.Add($"X-H{i}", "v");
        }

        using var tooManyHeaders = await gateway.Client.SendAsync(manyHeaders);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, tooManyHeaders.StatusCode);
        await AssertProblemAsync(tooManyHeaders, 431);

        using var bigHeader = new HttpRequestMessage(HttpMethod.Get, "/api/users/1");
        bigHeader.Headers.Add("X-Big", new string('b', 3000));
        using var tooLargeHeaders = await gateway.Client.SendAsync(bigHeader);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, tooLargeHeaders.StatusCode);

        var both = await gateway.SendRawAsync("PUT /api/users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400", both, StringComparison.Ordinal);
        var twoLengths = await gateway.SendRawAsync("PUT /api/users/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
        Assert.StartsWith("HTTP/1.1 400", twoLengths, StringComparison.Ordinal);
        var obsFold = await gateway.SendRawAsync("GET /api/users/1 HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400", obsFold, StringComparison.Ordinal);

        // The request that fits, and perhaps the chunked one: an HTTP client may have started it before the body crossed
        // the limit and was cut off (Kestrel's path), or not yet (the native codec refuses the first chunk over the limit).
        Assert.InRange(backend.Requests, 1, 2);
    }

    [Fact]
    public async Task A_chunked_request_bodys_bytes_are_counted_like_a_sized_ones()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        var raw = await gateway.SendRawAsync("PUT /api/users/1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + "5\r\nabcde\r\n6\r\nfghijk\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", raw, StringComparison.Ordinal);
        var line = Assert.Single(await Gateway.Tests.Logging.AccessLines.JsonAsync(gateway, 1));
        Assert.Equal(11, line.GetProperty("bytes_in").GetInt64());
    }

    [Fact]
    public async Task Access_log_has_the_contract_fields_and_no_secrets()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users/7?token=supersecret&page=2");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "jwt-secret-value");
        request.Headers.Add("Cookie", "session=cookie-secret");
        request.Headers.Add("X-API-Key", "key-secret");
        using var response = await gateway.Client.SendAsync(request);
        var lines = await gateway.LogLinesAsync(l => l.Any(x => x.Contains("\"type\":\"access\"", StringComparison.Ordinal)));
        var access = lines.Single(l => l.Contains("\"type\":\"access\"", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(access);
        var root = json.RootElement;
        foreach (var field in new[] { "ts", "level", "request_id", "trace_id", "client_ip", "method", "path", "route", "backend", "status", "duration_ms", "upstream_ms", "bytes_in", "bytes_out", "user" })
        {
            Assert.True(root.TryGetProperty(field, out _), $"missing {field} in {access}");
        }

        Assert.Equal("/api/users/7?token=***&page=***", root.GetProperty("path").GetString());
        Assert.Equal("users", root.GetProperty("route").GetString());
        Assert.Equal(200, root.GetProperty("status").GetInt32());
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), root.GetProperty("request_id").GetString());
        Assert.True(root.GetProperty("bytes_out").GetInt64() > 0);
        var all = string.Join('\n', lines);
        foreach (var secret in new[] { "supersecret", "jwt-secret-value", "cookie-secret", "key-secret" })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Body_bytes_a_backend_sends_after_a_204_that_frames_a_body_never_become_the_next_clients_response()
    {
        const string status = "204 No Content";
        var served = 0;
        using var backend = RawBackend.Custom(async socket =>
        {
            const string smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: text/plain\r\n\r\nPWNED\n";
            var buffer = new byte[8192];
            var broken = false;
            while (await socket.ReceiveAsync(buffer) > 0)
            {
                if (Interlocked.Increment(ref served) == 1)
                {
                    // A bodiless status that declares a body...
                    broken = true;
                    await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: {smuggled.Length}\r\n\r\n"));
                    continue;
                }

                // ...and that "body" sent late, in front of the next answer on the same connection: a response of its own.
                var answer = (broken ? smuggled : "") + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal";
                broken = false;
                await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(answer));
            }
        });
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        using (var first = await gateway.Client.GetAsync("/api/users/1"))
        {
            Assert.Equal((HttpStatusCode)int.Parse(status[..3], System.Globalization.CultureInfo.InvariantCulture), first.StatusCode);
        }

        using var second = await gateway.Client.GetAsync("/api/users/2");
        Assert.Equal("real", await second.Content.ReadAsStringAsync());
        Assert.Equal(2, backend.Connections);
    }

    [Fact]
    public async Task Redirects_from_the_backend_are_passed_through()
    {
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = "http://elsewhere.example/";
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync(Routes(backend.Url));
        using var response = await gateway.Client.GetAsync("/api/users/1");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("http://elsewhere.example/", response.Headers.Location!.ToString());
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task Http2_opt_in_serves_h2c_with_prior_knowledge()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync("server:\n  host: 127.0.0.1\n  port: 0\n  http2: true\n" + Routes(backend.Url));
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.GetAsync($"http://127.0.0.1:{gateway.Port}/api/users/5?x=1");
        Assert.Equal(HttpVersion.Version20, response.Version);
        var echo = await EchoedRequest.ReadAsync(response);
        Assert.Equal("/api/users/5?x=1", echo.Target);
        Assert.Equal("127.0.0.1", echo.Header("X-Forwarded-For"));
    }

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(text).RootElement;
        Assert.Equal(status, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("type").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("detail").GetString()));
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), root.GetProperty("request_id").GetString());
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        return root;
    }

    /// <summary>A body of unknown length, so the client sends it chunked.</summary>
    private sealed class ChunkedSource(long size) : Stream
    {
        private long _sent;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, size - _sent);
            Array.Fill(buffer, (byte)'z', offset, n);
            _sent += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
