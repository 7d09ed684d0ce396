using System.Net;
using System.Text;

namespace Gateway.Tests.Caching;

/// <summary>
/// The response cache end to end: hits and misses, the key (query order, host, caller, key headers, Vary), what is
/// never kept, coalescing of identical misses, and the poisoning cases (unkeyed forwarding headers, method overrides,
/// callers' responses crossing over).
/// </summary>
public sealed class CacheTests
{
    /// <summary>
    /// A backend whose answer is shaped by the query (<c>cc</c> Cache-Control, <c>cookie</c>, <c>vary</c>, <c>status</c>,
    /// <c>size</c>, <c>chunked</c>, <c>delay</c>, <c>ct</c>, <c>etag</c>) and whose body names the request number and the
    /// forwarding headers it received, as a backend that builds links from them would.
    /// </summary>
    internal static Task<TestBackend> StartBackendAsync()
    {
        var counter = 0;
        return TestBackend.StartAsync(async context =>
        {
            var n = Interlocked.Increment(ref counter);
            var query = context.Request.Query;
            if (query["delay"] is [{ } delay])
            {
                await Task.Delay(int.Parse(delay, System.Globalization.CultureInfo.InvariantCulture));
            }

            var response = context.Response;
            response.StatusCode = query["status"] is [{ } status] ? int.Parse(status, System.Globalization.CultureInfo.InvariantCulture) : 200;
            response.ContentType = query["ct"] is [{ } ct] ? ct : "text/plain";
            if (query["cc"] is [{ } cc])
            {
                response.Headers.CacheControl = cc;
            }

            if (query["cookie"].Count > 0)
            {
                response.Headers.SetCookie = "session=abc; HttpOnly";
            }

            if (query["vary"] is [{ } vary])
            {
                response.Headers.Vary = vary;
            }

            if (query["etag"] is [{ } etag])
            {
                response.Headers.ETag = etag;
            }

            var request = context.Request.Headers;
            var text = $"n={n} user={request["X-User-Id"]} xfh={request["X-Forwarded-Host"]} xfp={request["X-Forwarded-Proto"]} xfs={request["X-Forwarded-Scheme"]} "
                + $"xou={request["X-Original-URL"]} xhost={request["X-Host"]} override={request["X-HTTP-Method-Override"]} method={context.Request.Method} host={request.Host}";
            var body = Encoding.UTF8.GetBytes(text);
            if (query["size"] is [{ } size])
            {
                body = new byte[int.Parse(size, System.Globalization.CultureInfo.InvariantCulture)];
                Array.Fill(body, (byte)('a' + (n % 26)));
            }

            if (query["chunked"].Count == 0)
            {
                response.ContentLength = body.Length;
                await response.Body.WriteAsync(body);
                return;
            }

            for (var i = 0; i < body.Length; i += 1000)
            {
                await response.Body.WriteAsync(body.AsMemory(i, Math.Min(1000, body.Length - i)));
                await response.Body.FlushAsync();
            }
        });
    }

    internal static async Task<(HttpStatusCode Status, string? Cache, string Body, HttpResponseMessage Response)> GetAsync(
        TestGateway gateway, string path, params (string Name, string Value)[] headers) => await SendAsync(gateway, HttpMethod.Get, path, headers);

    internal static async Task<(HttpStatusCode Status, string? Cache, string Body, HttpResponseMessage Response)> SendAsync(
        TestGateway gateway, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        var response = await gateway.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, Header(response, "X-Cache-Status"), body, response);
    }

    internal static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : null;

    private static Task<TestGateway> StartAsync(TestBackend backend, string cache = "{enabled: true}", string route = "", string top = "") => TestGateway.StartAsync($$$"""
        {{{top}}}
        routes:
          - path: /c/*rest
            backend: "{{{backend.Url}}}"
            cache: {{{cache}}}
            {{{route}}}
        """);

    [Fact]
    public async Task A_miss_is_stored_and_the_next_identical_request_is_a_hit_without_the_backend()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var first = await GetAsync(gateway, "/c/a?x=1");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("MISS", first.Cache);
        var second = await GetAsync(gateway, "/c/a?x=1");
        Assert.Equal("HIT", second.Cache);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal("text/plain", Header(second.Response, "Content-Type"));
        Assert.NotNull(Header(second.Response, "Age"));
        Assert.NotEqual(Header(first.Response, "X-Request-Id"), Header(second.Response, "X-Request-Id"));
        Assert.Equal(1, backend.Requests);

        // Another path, and another query, are other entries.
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/b?x=1")).Cache);
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/a?x=2")).Cache);
        Assert.Equal(3, backend.Requests);
    }

    [Fact]
    public async Task Query_parameters_in_another_order_share_an_entry()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var first = await GetAsync(gateway, "/c/q?a=1&b=2");
        var second = await GetAsync(gateway, "/c/q?b=2&a=1");
        Assert.Equal("HIT", second.Cache);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task A_head_request_reads_the_stored_get_response_without_its_body()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var get = await GetAsync(gateway, "/c/h");
        var head = await SendAsync(gateway, HttpMethod.Head, "/c/h");
        Assert.Equal("HIT", head.Cache);
        Assert.Equal("", head.Body);
        Assert.Equal(Encoding.UTF8.GetByteCount(get.Body).ToString(System.Globalization.CultureInfo.InvariantCulture), Header(head.Response, "Content-Length"));
        Assert.Equal(1, backend.Requests);
    }

    [Theory]
    [InlineData("no-store")]
    [InlineData("private")]
    [InlineData("private, max-age=60")]
    [InlineData("no-cache")]
    [InlineData("max-age=0")]
    [InlineData("max-age=abc")]
    [InlineData("public, no-store")]
    public async Task Responses_that_forbid_storing_or_are_stale_at_once_are_not_kept(string cacheControl)
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var path = "/c/cc?cc=" + Uri.EscapeDataString(cacheControl);
        Assert.Equal("MISS", (await GetAsync(gateway, path)).Cache);
        Assert.Equal("MISS", (await GetAsync(gateway, path)).Cache);
        Assert.Equal(2, backend.Requests);
    }

    [Fact]
    public async Task S_maxage_sets_how_long_a_response_is_served()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend, "{enabled: true, ttl_secs: 3600}");
        var path = "/c/short?cc=" + Uri.EscapeDataString("max-age=3600, s-maxage=1");
        await GetAsync(gateway, path);
        Assert.Equal("HIT", (await GetAsync(gateway, path)).Cache);
        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        Assert.Equal("MISS", (await GetAsync(gateway, path)).Cache);
        Assert.Equal(2, backend.Requests);
    }

    [Fact]
    public async Task A_response_with_set_cookie_is_kept_only_where_cookies_may_be_cached()
    {
        await using var backend = await StartBackendAsync();
        await using (var gateway = await StartAsync(backend))
        {
            await GetAsync(gateway, "/c/cookie?cookie=1");
            var again = await GetAsync(gateway, "/c/cookie?cookie=1");
            Assert.Equal("MISS", again.Cache);
            Assert.Equal(2, backend.Requests);
        }

        await using (var gateway = await StartAsync(backend, "{enabled: true, cache_with_cookies: true}"))
        {
            await GetAsync(gateway, "/c/cookie?cookie=1");
            var hit = await GetAsync(gateway, "/c/cookie?cookie=1");
            Assert.Equal("HIT", hit.Cache);
            Assert.Equal("session=abc; HttpOnly", Header(hit.Response, "Set-Cookie"));
            Assert.Equal(3, backend.Requests);
        }
    }

    [Fact]
    public async Task Only_listed_statuses_are_kept()
    {
        await using var backend = await StartBackendAsync();
        await using (var gateway = await StartAsync(backend))
        {
            await GetAsync(gateway, "/c/missing?status=404");
            Assert.Equal("MISS", (await GetAsync(gateway, "/c/missing?status=404")).Cache);
        }

        await using (var gateway = await StartAsync(backend, "{enabled: true, cacheable_status_codes: [200, 404]}"))
        {
            await GetAsync(gateway, "/c/missing?status=404");
            var hit = await GetAsync(gateway, "/c/missing?status=404");
            Assert.Equal(HttpStatusCode.NotFound, hit.Status);
            Assert.Equal("HIT", hit.Cache);
        }

        Assert.Equal(3, backend.Requests);
    }

    [Fact]
    public async Task Vary_keeps_responses_apart_by_the_headers_it_names_and_star_is_never_kept()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var english = await GetAsync(gateway, "/c/v?vary=X-Lang", ("X-Lang", "en"));
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/v?vary=X-Lang", ("X-Lang", "en"))).Cache);
        var german = await GetAsync(gateway, "/c/v?vary=X-Lang", ("X-Lang", "de"));
        Assert.Equal("MISS", german.Cache);
        Assert.NotEqual(english.Body, german.Body);
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/v?vary=X-Lang")).Cache);
        Assert.Equal(3, backend.Requests);

        await GetAsync(gateway, "/c/star?vary=*");
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/star?vary=*")).Cache);
        Assert.Equal(5, backend.Requests);
    }

    [Fact]
    public async Task Key_headers_are_part_of_the_key()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend, "{enabled: true, key_headers: [Accept-Language]}");
        await GetAsync(gateway, "/c/k", ("Accept-Language", "en"));
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/k", ("Accept-Language", "fr"))).Cache);
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/k", ("Accept-Language", "en"))).Cache);
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/k")).Cache);
        Assert.Equal(3, backend.Requests);
    }

    [Fact]
    public async Task Twenty_concurrent_identical_misses_make_one_backend_call()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var all = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => GetAsync(gateway, "/c/slow?delay=700")));
        Assert.Equal(1, backend.Requests);
        Assert.All(all, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Single(all.Select(r => r.Body).Distinct());
        Assert.Equal(1, all.Count(r => r.Cache == "MISS"));
        Assert.Equal(19, all.Count(r => r.Cache == "HIT"));
    }

    [Fact]
    public async Task Requests_waiting_on_a_miss_that_cannot_be_kept_go_to_the_backend_themselves()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var all = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => GetAsync(gateway, "/c/private?delay=300&cc=private")));
        Assert.All(all, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(5, backend.Requests);
        Assert.Equal(5, all.Select(r => r.Body).Distinct().Count());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_larger_than_max_entry_bytes_passes_through_whole_and_uncached(bool chunked)
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend, "{enabled: true, max_entry_bytes: 4000}");
        var path = "/c/big?size=10000" + (chunked ? "&chunked=1" : "");
        var first = await GetAsync(gateway, path);
        Assert.Equal(10000, first.Body.Length);
        var second = await GetAsync(gateway, path);
        Assert.Equal("MISS", second.Cache);
        Assert.Equal(10000, second.Body.Length);
        Assert.Equal(2, backend.Requests);

        // Within the bound, a chunked body is kept like a sized one.
        var small = "/c/small?size=3000" + (chunked ? "&chunked=1" : "");
        var kept = await GetAsync(gateway, small);
        var hit = await GetAsync(gateway, small);
        Assert.Equal("HIT", hit.Cache);
        Assert.Equal(kept.Body, hit.Body);
    }

    [Fact]
    public async Task Event_streams_range_requests_bodies_and_other_methods_are_not_cached()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend, route: "methods: [GET, POST, HEAD]");
        await GetAsync(gateway, "/c/sse?ct=text/event-stream");
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/sse?ct=text/event-stream")).Cache);

        await GetAsync(gateway, "/c/r");
        Assert.Equal("BYPASS", (await GetAsync(gateway, "/c/r", ("Range", "bytes=0-3"))).Cache);
        Assert.Equal("BYPASS", (await SendAsync(gateway, HttpMethod.Post, "/c/r")).Cache);

        using var withBody = new HttpRequestMessage(HttpMethod.Get, "/c/r") { Content = new StringContent("fat") };
        using var fat = await gateway.Client.SendAsync(withBody);
        Assert.Equal("BYPASS", Header(fat, "X-Cache-Status"));
        Assert.Equal(6, backend.Requests);
    }

    [Fact]
    public async Task A_conditional_request_on_a_hit_gets_304_from_the_cache()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        await GetAsync(gateway, "/c/e?etag=%22v1%22");
        var notModified = await GetAsync(gateway, "/c/e?etag=%22v1%22", ("If-None-Match", "W/\"v0\", \"v1\""));
        Assert.Equal(HttpStatusCode.NotModified, notModified.Status);
        Assert.Equal("\"v1\"", Header(notModified.Response, "ETag"));
        Assert.Equal("", notModified.Body);
        var changed = await GetAsync(gateway, "/c/e?etag=%22v1%22", ("If-None-Match", "\"v2\""));
        Assert.Equal(HttpStatusCode.OK, changed.Status);
        Assert.Equal(1, backend.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_cut_off_by_the_backend_is_never_kept(bool chunked)
    {
        var served = 0;
        using var raw = RawBackend.Custom(async socket =>
        {
            await RawBackend.ReadHeadAsync(socket);
            Interlocked.Increment(ref served);
            var head = chunked
                ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3e8\r\n" + new string('x', 1000) + "\r\n"
                : "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n" + new string('x', 1000);
            await socket.SendAsync(Encoding.ASCII.GetBytes(head));
            await Task.Delay(100);
            socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
            socket.Close();
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /c/*rest, backend: "{{{raw.Url}}}", cache: {enabled: true}}
            """);
        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => gateway.Client.GetStringAsync("/c/cut"));
        }

        Assert.Equal(2, Volatile.Read(ref served));
    }

    [Fact]
    public async Task The_gateways_own_errors_are_never_kept()
    {
        var port = RawBackend.RefusedPort();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /c/*rest, backend: "http://127.0.0.1:{{{port}}}", cache: {enabled: true, cacheable_status_codes: [200, 502]}}
            """);
        var first = await GetAsync(gateway, "/c/down");
        Assert.Equal(HttpStatusCode.BadGateway, first.Status);
        var second = await GetAsync(gateway, "/c/down");
        Assert.Equal("MISS", second.Cache);
        Assert.NotEqual(Header(first.Response, "X-Request-Id"), Header(second.Response, "X-Request-Id"));
    }

    [Fact]
    public async Task The_cache_keeps_the_body_as_the_backend_sent_it_and_each_client_gets_its_own_encoding()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend, top: "compression: {enabled: true}");
        var gzip = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/c/z?size=5000") { Headers = { { "Accept-Encoding", "gzip" } } });
        Assert.Equal("MISS", Header(gzip, "X-Cache-Status"));
        Assert.Equal("gzip", Header(gzip, "Content-Encoding"));
        await using var unzip = new System.IO.Compression.GZipStream(await gzip.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        var decoded = new MemoryStream();
        await unzip.CopyToAsync(decoded);

        var plain = await GetAsync(gateway, "/c/z?size=5000");
        Assert.Equal("HIT", plain.Cache);
        Assert.Null(Header(plain.Response, "Content-Encoding"));
        Assert.Equal(Encoding.ASCII.GetString(decoded.ToArray()), plain.Body);
        Assert.Equal(5000, plain.Body.Length);

        var br = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/c/z?size=5000") { Headers = { { "Accept-Encoding", "br" } } });
        Assert.Equal("HIT", Header(br, "X-Cache-Status"));
        Assert.Equal("br", Header(br, "Content-Encoding"));
        Assert.Equal(1, backend.Requests);
    }

    // ---- Callers ----

    private const string Auth = """
        auth:
          jwt:
            secret: "a-test-secret-that-is-at-least-32-bytes-long!"
            algorithm: HS256
            issuer: "https://issuer.test"
            audience: "gateway-tests"
          api_key:
            header: X-API-Key
            keys:
              "sk_alice_0123456789": "alice-key"
              "sk_bob_0123456789": "bob-key"
        """;

    [Fact]
    public async Task One_callers_cached_response_never_reaches_another_caller()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend, route: "auth: {required: true}", top: Auth);
        var alice = ("Authorization", "Bearer " + Tokens.Hs256(Tokens.Claims(sub: "alice")));
        var bob = ("Authorization", "Bearer " + Tokens.Hs256(Tokens.Claims(sub: "bob")));
        var a1 = await GetAsync(gateway, "/c/me", alice);
        Assert.Contains("user=alice", a1.Body, StringComparison.Ordinal);
        var b1 = await GetAsync(gateway, "/c/me", bob);
        Assert.Equal("MISS", b1.Cache);
        Assert.Contains("user=bob", b1.Body, StringComparison.Ordinal);
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/me", alice)).Cache);

        var k1 = await GetAsync(gateway, "/c/me", ("X-API-Key", "sk_alice_0123456789"));
        var k2 = await GetAsync(gateway, "/c/me", ("X-API-Key", "sk_bob_0123456789"));
        Assert.Equal("MISS", k2.Cache);
        Assert.NotEqual(k1.Body, k2.Body);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "/c/me")).Status);
        Assert.Equal(4, backend.Requests);
    }

    [Fact]
    public async Task A_shared_cache_serves_one_response_to_every_authenticated_caller()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend, "{enabled: true, shared: true}", route: "auth: {required: true}", top: Auth);
        await GetAsync(gateway, "/c/catalog", ("X-API-Key", "sk_alice_0123456789"));
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/catalog", ("X-API-Key", "sk_bob_0123456789"))).Cache);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "/c/catalog")).Status);
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task Credentials_the_backend_receives_itself_scope_the_entry_to_them()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        await GetAsync(gateway, "/c/own", ("Authorization", "Basic YTpi"));
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/own", ("Authorization", "Basic Yzpk"))).Cache);
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/own")).Cache);
        Assert.Equal("MISS", (await GetAsync(gateway, "/c/own", ("Cookie", "session=1"))).Cache);
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/own", ("Authorization", "Basic YTpi"))).Cache);
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/own", ("Cookie", "session=1"))).Cache);
        Assert.Equal(4, backend.Requests);
    }

    // ---- Poisoning ----

    [Fact]
    public async Task Client_sent_forwarding_headers_never_reach_the_backend_so_they_cannot_poison_the_cache()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        var poison = await GetAsync(gateway, "/c/page",
            ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "gopher"), ("X-Forwarded-Scheme", "nothttps"),
            ("X-Original-URL", "/admin"), ("X-Host", "evil.example"), ("X-Forwarded-Port", "1337"), ("Forwarded", "host=evil.example"),
            ("X-HTTP-Method-Override", "DELETE"));
        Assert.DoesNotContain("evil", poison.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("gopher", poison.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("nothttps", poison.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("/admin", poison.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("DELETE", poison.Body, StringComparison.Ordinal);
        Assert.Contains("xfp=http ", poison.Body, StringComparison.Ordinal);

        var victim = await GetAsync(gateway, "/c/page");
        Assert.Equal("HIT", victim.Cache);
        Assert.Equal(poison.Body, victim.Body);
    }

    [Fact]
    public async Task What_a_request_transform_copies_upstream_is_part_of_the_key_even_on_a_shared_cache()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - path: /t/*rest
                backend: "{{{backend.Url}}}"
                cache: {enabled: true}
                transform: {request: {query_params: {set: {tenant: "{header:X-Tenant}"} } } }
              - path: /s/*rest
                backend: "{{{backend.Url}}}"
                auth: {required: true}
                cache: {enabled: true, shared: true}
                transform: {request: {set_headers: {X-Tenant: "{claim:tenant}"} } }
            """);
        var alpha = await GetAsync(gateway, "/t/x", ("X-Tenant", "alpha"));
        var beta = await GetAsync(gateway, "/t/x", ("X-Tenant", "beta"));
        Assert.Equal("MISS", beta.Cache);
        Assert.Contains("tenant=beta", beta.Body, StringComparison.Ordinal);
        Assert.Equal("HIT", (await GetAsync(gateway, "/t/x", ("X-Tenant", "alpha"))).Cache);
        Assert.Contains("tenant=alpha", alpha.Body, StringComparison.Ordinal);

        string Token(string tenant)
        {
            var claims = Tokens.Claims(sub: "user-" + tenant);
            claims["tenant"] = tenant;
            return "Bearer " + Tokens.Hs256(claims);
        }

        var acme = await GetAsync(gateway, "/s/data", ("Authorization", Token("acme")));
        var globex = await GetAsync(gateway, "/s/data", ("Authorization", Token("globex")));
        Assert.Equal("MISS", globex.Cache);
        Assert.Contains("globex", globex.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("acme", globex.Body, StringComparison.Ordinal);
        Assert.Contains("acme", acme.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hit_carries_the_response_transforms_per_request_headers_made_afresh_and_its_constant_ones()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /c/*rest
                backend: "{{{backend.Url}}}"
                cache: {enabled: true}
                transform: {response: {set_headers: {X-Rid: "{request_id}", X-Brace: "{{v}}", X-Route: "{route}"} } }
            """);
        var miss = await GetAsync(gateway, "/c/a", ("X-Request-Id", "first-request-0001"));
        var hit = await GetAsync(gateway, "/c/a", ("X-Request-Id", "second-request-0002"));
        Assert.Equal("HIT", hit.Cache);
        Assert.Equal("first-request-0001", Header(miss.Response, "X-Rid"));
        Assert.Equal("second-request-0002", Header(hit.Response, "X-Rid"));
        Assert.Equal("{v}", Header(hit.Response, "X-Brace"));
        Assert.Equal(Header(miss.Response, "X-Route"), Header(hit.Response, "X-Route"));
    }

    [Fact]
    public async Task If_none_match_star_is_answered_304_from_a_stored_response_with_or_without_an_etag()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        await GetAsync(gateway, "/c/untagged");
        var star = await GetAsync(gateway, "/c/untagged", ("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.NotModified, star.Status);
        var other = await GetAsync(gateway, "/c/untagged", ("If-None-Match", "\"v9\""));
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task Back_to_back_identical_requests_are_a_miss_then_hits()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartAsync(backend);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("MISS", (await GetAsync(gateway, $"/c/seq{i}")).Cache);
            Assert.Equal("HIT", (await GetAsync(gateway, $"/c/seq{i}")).Cache);
        }

        Assert.Equal(20, backend.Requests);
    }

    [Fact]
    public async Task Another_host_spelling_is_another_entry()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}", preserve_host: true, cache: {enabled: true}}
            """);
        var plain = await GetAsync(gateway, "/c/links", ("Host", "site.example"));
        var ported = await GetAsync(gateway, "/c/links", ("Host", "site.example:1337"));
        Assert.Equal("MISS", ported.Cache);
        Assert.Contains("host=site.example:1337", ported.Body, StringComparison.Ordinal);
        var again = await GetAsync(gateway, "/c/links", ("Host", "site.example"));
        Assert.Equal("HIT", again.Cache);
        Assert.Equal(plain.Body, again.Body);
    }

    [Fact]
    public async Task Requests_on_routes_without_a_cache_say_nothing_about_it()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            cache: {enabled: true}
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}"}
              - {path: /n/*rest, backend: "{{{backend.Url}}}", cache: {enabled: false}}
            """);
        await GetAsync(gateway, "/c/global");
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/global")).Cache);
        var off = await GetAsync(gateway, "/n/off");
        Assert.Null(off.Cache);
        await GetAsync(gateway, "/n/off");
        Assert.Equal(3, backend.Requests);
    }
}
