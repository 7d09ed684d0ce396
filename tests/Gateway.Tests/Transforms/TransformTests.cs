using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Transforms;

/// <summary>
/// Request and response transforms end to end: the real gateway, real loopback backends, raw requests so the client's
/// headers are exactly the ones written here. The suite runs once per HTTP/1.1 codec.
/// </summary>
public sealed class TransformTests
{
    private static async Task<(int Status, EchoedRequest? Echo, string Raw)> SendAsync(TestGateway gateway, string target, params string[] headers)
    {
        var raw = await gateway.SendRawAsync($"GET {target} HTTP/1.1\r\nHost: gw.test\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "Connection: close\r\n\r\n");
        var status = int.Parse(raw.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, status == 200 && raw.Contains("\"Target\"", StringComparison.Ordinal) ? EchoedRequest.Parse(raw) : null, raw);
    }

    /// <summary>A client of its own, for requests in one exact HTTP version (the gateway's client negotiates none).</summary>
    private static readonly HttpClient Direct = new();

    private static HttpRequestMessage Exactly(Version version, HttpMethod method, TestGateway gateway, string target) =>
        new(method, $"http://127.0.0.1:{gateway.Port}{target}") { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };

    /// <summary>Every line of the header block the backend saw with this name, exactly as the backend's server reports them.</summary>
    private static string? Seen(EchoedRequest echo, string name) => echo.Header(name);

    [Fact]
    public async Task Added_set_and_removed_request_headers_reach_the_backend_and_the_client_cannot_defeat_them()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api/*rest
                backend: "{{{backend.Url}}}"
                transform:
                  request:
                    add_headers: {X-Gateway-Version: "1.0", X-Request-ID: "auto-generated", X-Default-Tenant: "acme"}
                    set_headers: {X-Internal: "false", X-Forwarded-Proto: "https"}
                    remove_headers: [X-Debug, Cookie, X-Forwarded-For]
            """);

        var (status, echo, raw) = await SendAsync(gateway, "/api/a",
            "x-internal: true", "X-Internal: true", "X_Internal: true",
            "x-debug: 1", "X_Debug: 1", "Cookie: session=abc",
            "X-Default-Tenant: mine", "X-Request-Id: client-chosen-id-0001");
        Assert.True(status == 200, raw);
        Assert.Equal("1.0", Seen(echo!, "X-Gateway-Version"));
        // add_headers never overrides: the client's own value stays, and the gateway's request id is always there.
        Assert.Equal("mine", Seen(echo!, "X-Default-Tenant"));
        Assert.Equal("client-chosen-id-0001", Seen(echo!, "X-Request-Id"));
        // set_headers replaces every copy, whatever its case; its '_' spelling never passes beside it.
        Assert.Equal("false", Seen(echo!, "X-Internal"));
        Assert.Null(Seen(echo!, "X_Internal"));
        Assert.Equal("https", Seen(echo!, "X-Forwarded-Proto"));
        Assert.Null(Seen(echo!, "X-Debug"));
        Assert.Null(Seen(echo!, "X_Debug"));
        Assert.Null(Seen(echo!, "Cookie"));
        // The gateway's own X-Forwarded-For goes too: the operator removed it.
        Assert.Null(Seen(echo!, "X-Forwarded-For"));

        var (_, plain, _) = await SendAsync(gateway, "/api/b");
        Assert.Equal("acme", Seen(plain!, "X-Default-Tenant"));
        Assert.Equal("false", Seen(plain!, "X-Internal"));
    }

    [Fact]
    public async Task A_chunked_body_goes_by_the_httpclient_path_with_the_same_transformed_request()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - id: orders
                path: /v1/*path
                backend: "{{{backend.Url}}}"
                transform:
                  request:
                    path_rewrites: [{pattern: '^/v1/(.*)$', replacement: "/api/v2/$1"}]
                    set_headers: {X-Internal: "false"}
                    add_headers: {X-Route: "{route}"}
                    remove_headers: [X-Debug]
                    query_params: {set: {format: json}}
            """);
        // A body of unknown length is one the own HTTP/1.1 client does not frame: HttpClient (or YARP) sends it.
        var raw = await gateway.SendRawAsync("POST /v1/orders?format=xml HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n"
            + "X-Internal: true\r\nX-Debug: 1\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", raw, StringComparison.Ordinal);
        var echo = EchoedRequest.Parse(raw);
        Assert.Equal("/api/v2/orders?format=json", echo.Target);
        Assert.Equal(5, echo.BodyBytes);
        Assert.Equal("false", Seen(echo, "X-Internal"));
        Assert.Equal("orders", Seen(echo, "X-Route"));
        Assert.Null(Seen(echo, "X-Debug"));
    }

    [Fact]
    public async Task Placeholders_are_filled_from_the_trusted_client_address_the_token_and_the_request()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, trusted_proxies: ["127.0.0.1/32"]}
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - id: users
                path: /users/*rest
                backend: "{{{backend.Url}}}"
                auth: {required: true}
                transform:
                  request:
                    set_headers:
                      X-Client: "{client_ip}"
                      X-Rid: "rid={request_id}"
                      X-Route: "{route} {method} {path}"
                      X-Team: "{claim:team}"
                      X-Agent: "{{ua: {header:User-Agent} }}"
                      X-Absent: "{header:X-Not-Sent}"
                    query_params:
                      add: {team: "{claim:team}"}
            """);
        var claims = Tokens.Claims(sub: "alice");
        claims["team"] = "blue & green";
        var token = Tokens.Hs256(claims);

        var (status, echo, raw) = await SendAsync(gateway, "/users/7", "Authorization: Bearer " + token, "X-Forwarded-For: 198.51.100.9",
            "User-Agent: probe/1", "X-Request-Id: placeholder-test-0001", "X-Absent: from-client");
        Assert.True(status == 200, raw);
        Assert.Equal("198.51.100.9", Seen(echo!, "X-Client"));
        Assert.Equal("rid=placeholder-test-0001", Seen(echo!, "X-Rid"));
        Assert.Equal("users GET /users/7", Seen(echo!, "X-Route"));
        Assert.Equal("blue & green", Seen(echo!, "X-Team"));
        Assert.Equal("{ua: probe/1 }", Seen(echo!, "X-Agent"));
        // A set header whose value is missing is not sent at all, and the client's copy never passes in its place.
        Assert.Null(Seen(echo!, "X-Absent"));
        Assert.Equal("/users/7?team=blue%20%26%20green", echo!.Target);
    }

    [Theory]
    [InlineData("a\r\nX-Evil: 1")]
    [InlineData("a\nb")]
    [InlineData("nul\0")]
    public async Task A_claim_with_a_line_break_or_nul_is_answered_400_and_nothing_is_forwarded(string team)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - path: /users/*rest
                backend: "{{{backend.Url}}}"
                auth: {required: true}
                transform: {request: {add_headers: {X-Team: "{claim:team}"} } }
            """);
        var claims = Tokens.Claims();
        claims["team"] = team;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/1");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Tokens.Hs256(claims));
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("X-Evil", body, StringComparison.Ordinal);
        Assert.Equal(0, backend.Requests);
        var log = await gateway.LogLinesAsync(l => l.Any(x => x.Contains("bad_request:transform_value", StringComparison.Ordinal)));
        Assert.Contains(log, l => l.Contains("bad_request:transform_value", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Values_from_the_token_or_the_client_address_are_never_the_clients_and_forwarding_headers_are_read_only_from_a_trusted_proxy()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - path: /users/*rest
                backend: "{{{backend.Url}}}"
                auth: {required: false}
                transform:
                  request:
                    add_headers: {X-Team: "{claim:team}", X-Client: "{client_ip}", X-Tag: "{header:X-In}"}
                    set_headers: {X-Real: "{header:X-Real-IP}", X-Fwd: "{header:X-Forwarded-For}"}
                    query_params: {add: {team: "{claim:team}"}}
            """);
        var claims = Tokens.Claims();
        claims["team"] = "blue";
        var (status, echo, raw) = await SendAsync(gateway, "/users/1?team=admins", "Authorization: Bearer " + Tokens.Hs256(claims),
            "X-Team: admins", "X-Client: 10.0.0.1", "X-In: mine", "X-Tag: client", "X-Real-IP: 10.0.0.1", "X-Forwarded-For: 10.9.9.9");
        Assert.True(status == 200, raw);
        Assert.Equal("blue", Seen(echo!, "X-Team"));
        Assert.Equal("127.0.0.1", Seen(echo!, "X-Client"));
        Assert.Equal("/users/1?team=blue", echo!.Target);
        // A value the client could send anyway stays add-only: the client's copy wins.
        Assert.Equal("client", Seen(echo!, "X-Tag"));
        // What an untrusted peer says about addresses is missing to a template, as it never reaches the backend either.
        Assert.Null(Seen(echo!, "X-Real"));
        Assert.Null(Seen(echo!, "X-Fwd"));

        // Without a token the claim is missing: the client's X-Team never passes in its place.
        var (_, anonymous, _) = await SendAsync(gateway, "/users/2?team=admins", "X-Team: admins");
        Assert.Null(Seen(anonymous!, "X-Team"));
        Assert.Equal("/users/2", anonymous!.Target);
    }

    [Fact]
    public async Task A_value_beyond_printable_ascii_is_left_out_the_same_way_on_every_path()
    {
        await using var backend = await TestBackend.StartAsync(StartHeaderBackend);
        var claims = Tokens.Claims();
        claims["name"] = "Jos\u00e9";
        var token = Tokens.Hs256(claims);
        foreach (var http2 in new[] { false, true })
        {
            await using var gateway = await TestGateway.StartAsync($$$"""
                server: {host: 127.0.0.1, port: 0, http2: {{{(http2 ? "true" : "false")}}}}
                auth:
                  jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
                routes:
                  - path: /api
                    backend: "{{{backend.Url}}}"
                    auth: {required: true}
                    transform:
                      request: {set_headers: {X-Name: "{claim:name}"} }
                      response: {set_headers: {X-Name: "{claim:name}", X-Keep: "kept {claim:name}"} }
                """);
            using var request = Exactly(http2 ? HttpVersion.Version20 : HttpVersion.Version11, HttpMethod.Get, gateway, "/api");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await Direct.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var echo = await EchoedRequest.ReadAsync(response);
            Assert.Null(echo.Header("X-Name"));
            Assert.False(response.Headers.Contains("X-Name"));
            // A set header whose value cannot be made goes, so the backend's own value never passes as the transform's.
            Assert.False(response.Headers.Contains("X-Keep"));
        }
    }

    [Fact]
    public async Task A_rewrite_never_makes_a_dot_segment_with_encoded_parameters_nor_an_authority_like_path()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /v1/*rest
                backend: "{{{backend.Url}}}"
                transform: {request: {path_rewrites: [{pattern: '^/v1/x-', replacement: '/'}]}}
              - path: /v2/*rest
                backend: "{{{backend.Url}}}"
                transform: {request: {path_rewrites: [{pattern: '^/v2/(.*)-(.*)$', replacement: '/$1/$2'}]}}
            """);
        foreach (var path in new[] { "/v1/x-..%3Bfoo/admin", "/v1/x-%2E%2E%3bx/admin" })
        {
            var (status, _, raw) = await SendAsync(gateway, path);
            Assert.True(status == 400, raw);
        }

        Assert.Equal(0, backend.Requests);
        Assert.Equal("/evil.com/x", (await SendAsync(gateway, "/v2/-evil.com/x")).Echo!.Target);
    }

    [Fact]
    public async Task Path_rewrites_replace_with_groups_after_strip_prefix_and_apply_in_order()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /v1/*path
                backend: "{{{backend.Url}}}"
                transform:
                  request:
                    path_rewrites: [{pattern: '^/v1/(.*)$', replacement: "/api/v2/$1"}]
              - path: /shop/*rest
                backend: "{{{backend.Url}}}/base"
                strip_prefix: true
                transform:
                  request:
                    path_rewrites:
                      - {pattern: '^/items/(?<id>[0-9]+)$', replacement: '/catalog/$${id}'}
                      - {pattern: '^/catalog/', replacement: '/v2/catalog/'}
                      - {pattern: 'no-slash$', replacement: 'made-absolute'}
            """);

        Assert.Equal("/api/v2/users/42?x=1", (await SendAsync(gateway, "/v1/users/42?x=1")).Echo!.Target);
        Assert.Equal("/api/v2/caf%C3%A9%20x", (await SendAsync(gateway, "/v1/caf%C3%A9%20x")).Echo!.Target);
        Assert.Equal("/base/v2/catalog/17", (await SendAsync(gateway, "/shop/items/17")).Echo!.Target);
        Assert.Equal("/base/other", (await SendAsync(gateway, "/shop/other")).Echo!.Target);
        Assert.Equal("/base/made-absolute", (await SendAsync(gateway, "/shop/no-slash")).Echo!.Target);
    }

    [Fact]
    public async Task A_rewrite_that_would_make_a_dot_segment_is_refused()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /files/*rest
                backend: "{{{backend.Url}}}"
                strip_prefix: true
                transform:
                  request:
                    path_rewrites: [{pattern: '^/(.)(.*)$', replacement: '/public/$1$1/$2'}]
            """);
        Assert.Equal("/public/aa/b", (await SendAsync(gateway, "/files/ab")).Echo!.Target);

        // ".x" is a file name, but its first character twice is "..": the backend would climb out of /public.
        var (status, _, raw) = await SendAsync(gateway, "/files/.x");
        Assert.True(status == 400, raw);
        Assert.Contains("cannot be sent", raw, StringComparison.Ordinal);
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task A_pathological_path_against_a_nested_quantifier_answers_at_once()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /r/*rest
                backend: "{{{backend.Url}}}"
                strip_prefix: true
                transform:
                  request:
                    path_rewrites: [{pattern: '^/(a+)+$', replacement: "/only-a"}]
              - path: /slow/*rest
                backend: "{{{backend.Url}}}"
                strip_prefix: true
                transform:
                  request:
                    path_rewrites: [{pattern: '^/(?=(a+)+$)', replacement: "/ahead/"}]
            """);
        var evil = "/" + new string('a', 30) + "b";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // The linear-time engine: no match, the path goes as it is.
        using var linear = await gateway.Client.GetAsync("/r" + evil, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, linear.StatusCode);
        Assert.Equal(evil, (await EchoedRequest.ReadAsync(linear)).Target);
        using var match = await gateway.Client.GetAsync("/r/aaaa", timeout.Token);
        Assert.Equal("/only-a", (await EchoedRequest.ReadAsync(match)).Target);

        // A lookahead needs the backtracking engine: it runs into its match timeout and the request is refused.
        using var slow = await gateway.Client.GetAsync("/slow" + evil, timeout.Token);
        Assert.Equal(HttpStatusCode.BadRequest, slow.StatusCode);
        Assert.Contains("rewritten in time", await slow.Content.ReadAsStringAsync(timeout.Token), StringComparison.Ordinal);
        Assert.Equal(2, backend.Requests);
        using var fine = await gateway.Client.GetAsync("/slow/aaa", timeout.Token);
        Assert.Equal("/ahead/aaa", (await EchoedRequest.ReadAsync(fine)).Target);
        var log = await gateway.LogLinesAsync(l => l.Any(x => x.Contains("match timeout", StringComparison.Ordinal)));
        Assert.Contains(log, l => l.Contains("path_rewrites[0] ran past its 100 ms match timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Query_parameters_are_added_set_and_removed_with_their_encoding()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /search
                backend: "{{{backend.Url}}}"
                transform:
                  request:
                    query_params:
                      add: {api_version: "2.0", source: "gateway", "q x": "a b&c=d/é+"}
                      set: {format: json}
                      remove: [debug, internal_token]
            """);

        var (_, echo, _) = await SendAsync(gateway, "/search?format=xml&FORMAT=csv&debug=1&Debug=2&internal%5Ftoken=s&keep=a%20b&source=mine");
        Assert.Equal("/search?keep=a%20b&source=mine&format=json&api_version=2.0&q%20x=a%20b%26c%3Dd%2F%C3%A9%2B", echo!.Target);

        var (_, bare, _) = await SendAsync(gateway, "/search");
        Assert.Equal("/search?format=json&api_version=2.0&source=gateway&q%20x=a%20b%26c%3Dd%2F%C3%A9%2B", bare!.Target);
    }

    [Fact]
    public async Task The_credential_query_parameter_still_stays_at_the_gateway_beside_query_edits()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - path: /private
                backend: "{{{backend.Url}}}"
                auth: {required: true, forward_authorization: false, token_query: access_token}
                transform: {request: {query_params: {add: {migrated: "true"}, remove: [debug]} } }
            """);
        var (status, echo, raw) = await SendAsync(gateway, $"/private?access_token={Tokens.Hs256()}&debug=1&keep=1");
        Assert.True(status == 200, raw);
        Assert.Equal("/private?keep=1&migrated=true", echo!.Target);
    }

    private static async Task StartHeaderBackend(HttpContext context)
    {
        context.Response.Headers["Server"] = "backend/1.2";
        context.Response.Headers["X-Powered-By"] = "php";
        context.Response.Headers["X-Keep"] = "backend";
        context.Response.Headers["Cache-Control"] = "public, max-age=60";
        await TestBackend.EchoAsync(context);
    }

    [Fact]
    public async Task Response_headers_are_added_set_and_removed_on_the_routes_own_responses_only()
    {
        await using var backend = await TestBackend.StartAsync(StartHeaderBackend);
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api
                backend: "{{{backend.Url}}}"
                transform:
                  response:
                    add_headers: {X-Keep: "transform", X-Frame-Options: DENY, X-Served-For: "{route}"}
                    set_headers: {Cache-Control: no-store}
                    remove_headers: [Server, x-powered-by]
              - id: mocked
                path: /mocked
                mock: {status: 201, headers: {X-Powered-By: mock}, body: "made"}
                transform:
                  response:
                    add_headers: {X-Frame-Options: DENY}
                    remove_headers: [X-Powered-By]
              - path: /down
                backend: "http://127.0.0.1:9"
                transform: {response: {add_headers: {X-Frame-Options: DENY} } }
            """);

        using var response = await gateway.Client.GetAsync("/api");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backend", Assert.Single(response.Headers.GetValues("X-Keep")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("api", Assert.Single(response.Headers.GetValues("X-Served-For")));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.False(response.Headers.Contains("Server"));
        Assert.False(response.Headers.Contains("X-Powered-By"));
        Assert.True(response.Headers.Contains("X-Request-Id"));

        using var mocked = await gateway.Client.GetAsync("/mocked");
        Assert.Equal(HttpStatusCode.Created, mocked.StatusCode);
        Assert.Equal("DENY", Assert.Single(mocked.Headers.GetValues("X-Frame-Options")));
        Assert.False(mocked.Headers.Contains("X-Powered-By"));
        Assert.Equal("made", await mocked.Content.ReadAsStringAsync());

        // The gateway's own error answer is the same on every route: the route's transform does not edit it.
        using var down = await gateway.Client.GetAsync("/down");
        Assert.Equal(HttpStatusCode.BadGateway, down.StatusCode);
        Assert.False(down.Headers.Contains("X-Frame-Options"));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    public async Task Over_http2_the_same_transforms_apply_to_requests_and_responses(string method)
    {
        await using var backend = await TestBackend.StartAsync(StartHeaderBackend);
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, http2: true}
            routes:
              - id: two
                path: /v1/*path
                backend: "{{{backend.Url}}}"
                transform:
                  request:
                    path_rewrites: [{pattern: '^/v1/(.*)$', replacement: "/api/$1"}]
                    set_headers: {X-Internal: "false"}
                    add_headers: {X-Route: "{route}", X-Client: "{client_ip}"}
                    remove_headers: [X-Debug]
                    query_params: {set: {format: json}, remove: [debug]}
                  response:
                    add_headers: {X-Frame-Options: DENY}
                    set_headers: {Cache-Control: no-store}
                    remove_headers: [Server, X-Powered-By]
            """);
        using var request = Exactly(HttpVersion.Version20, new HttpMethod(method), gateway, "/v1/orders?format=xml&debug=1&keep=1");
        request.Headers.TryAddWithoutValidation("X-Internal", "true");
        request.Headers.TryAddWithoutValidation("X-Debug", "1");
        request.Headers.TryAddWithoutValidation("X-Client", "10.9.9.9");
        if (method == "POST")
        {
            request.Content = new StreamContent(new MemoryStream(new byte[5000]));
        }

        using var response = await Direct.SendAsync(request);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = await EchoedRequest.ReadAsync(response);
        Assert.Equal("/api/orders?keep=1&format=json", echo.Target);
        Assert.Equal("false", echo.Header("X-Internal"));
        Assert.Equal("two", echo.Header("X-Route"));
        // An added value made from the client address replaces what the client sent: the client never chooses it.
        Assert.Equal("127.0.0.1", echo.Header("X-Client"));
        Assert.Null(echo.Header("X-Debug"));
        Assert.Equal(method == "POST" ? 5000 : 0, echo.BodyBytes);
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.False(response.Headers.Contains("Server"));
        Assert.False(response.Headers.Contains("X-Powered-By"));
    }

    [Fact]
    public async Task A_host_set_by_a_transform_reaches_the_backend_and_the_connection_still_goes_to_the_configured_backend()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /vhost
                backend: "{{{backend.Url}}}"
                preserve_host: true
                transform: {request: {set_headers: {Host: "internal.example:8443"} } }
            """);
        var (status, echo, raw) = await SendAsync(gateway, "/vhost");
        Assert.True(status == 200, raw);
        Assert.Equal("internal.example:8443", Seen(echo!, "Host"));
        Assert.Equal(1, backend.Requests);
    }

    [Fact]
    public async Task An_identity_header_is_the_gateways_even_on_a_route_that_transforms()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - path: /me
                backend: "{{{backend.Url}}}"
                auth: {required: false}
                transform: {request: {set_headers: {X-Caller: "{claim:sub}"}, remove_headers: [X-Debug]}}
            """);
        var (_, anonymous, _) = await SendAsync(gateway, "/me", "X-User-Id: admin", "X_User_Id: admin", "X-Caller: admin");
        Assert.Null(Seen(anonymous!, "X-User-Id"));
        Assert.Null(Seen(anonymous!, "X_User_Id"));
        Assert.Null(Seen(anonymous!, "X-Caller"));

        var (_, signed, _) = await SendAsync(gateway, "/me", "Authorization: Bearer " + Tokens.Hs256(Tokens.Claims(sub: "bob")), "X-User-Id: admin");
        Assert.Equal("bob", Seen(signed!, "X-User-Id"));
        Assert.Equal("bob", Seen(signed!, "X-Caller"));
    }

    [SkippableFact]
    public async Task Phase7_transform_reference_config_loads_and_its_routes_do_what_its_comments_say()
    {
        Paths.RequireReferenceConfigs();
        var text = await File.ReadAllTextAsync(Path.Combine(Paths.ReferenceConfigs, "phase7-transform.yaml"));
        var loaded = Gateway.Configuration.ConfigLoader.LoadText(text, "phase7-transform.yaml", Paths.ReferenceConfigs);
        Assert.False(loaded.HasErrors, string.Join('\n', loaded.Problems));

        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.Headers["Server"] = "backend";
            context.Response.Headers["X-AspNet-Version"] = "4.0";
            context.Response.Headers["X-Internal-Debug"] = "1";
            context.Response.Headers["X-Database-Query-Time"] = "3ms";
            await TestBackend.EchoAsync(context);
        });
        text = text.Replace("host: \"0.0.0.0\"", "host: 127.0.0.1", StringComparison.Ordinal).Replace("port: 8080", "port: 0", StringComparison.Ordinal);
        for (var port = 3000; port <= 3003; port++)
        {
            text = text.Replace($"http://localhost:{port}", backend.Url, StringComparison.Ordinal);
        }

        await using var gateway = await TestGateway.StartAsync(text);

        // Example 1: headers.
        var (status, users, raw) = await SendAsync(gateway, "/api/users/1", "Cookie: a=b", "X-Gateway-Version: client");
        Assert.True(status == 200, raw);
        Assert.Equal("client", Seen(users!, "X-Gateway-Version"));
        Assert.Equal("https", Seen(users!, "X-Forwarded-Proto"));
        Assert.NotEqual("auto-generated", Seen(users!, "X-Request-Id"));
        Assert.Null(Seen(users!, "Cookie"));
        Assert.Contains("X-Powered-By: Rust Gateway", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\r\nServer:", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("X-AspNet-Version", raw, StringComparison.OrdinalIgnoreCase);

        // Example 2: /v1/users -> /api/v2/users.
        Assert.Equal("/api/v2/users", (await SendAsync(gateway, "/v1/users")).Echo!.Target);

        // Example 3: query parameters.
        Assert.Equal("/search?q=x&format=json&api_version=2.0&source=gateway",
            (await SendAsync(gateway, "/search?q=x&debug=1&internal_token=t&format=xml")).Echo!.Target);

        // Example 4: everything at once.
        var (_, legacy, legacyRaw) = await SendAsync(gateway, "/legacy/orders/9?old_param=1&k=v", "X-Legacy-Header: 1", "Accept: text/html");
        Assert.Equal("/modern/orders/9?k=v&version=new", legacy!.Target);
        Assert.Equal("application/json", Seen(legacy, "Accept"));
        Assert.Null(Seen(legacy, "X-Legacy-Header"));
        Assert.Contains("Access-Control-Allow-Origin: *", legacyRaw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("X-Internal-Debug", legacyRaw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("X-Database-Query-Time", legacyRaw, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableFact]
    public void Phase7_complete_reference_config_loads_with_its_transforms()
    {
        Paths.RequireReferenceConfigs();
        var loaded = Gateway.Configuration.ConfigLoader.LoadFile(Path.Combine(Paths.ReferenceConfigs, "phase7-complete.yaml"));
        Assert.False(loaded.HasErrors, string.Join('\n', loaded.Problems));
        // Its one transform warning: route 5 adds an X-Cache-Status of its own, which its cache always writes instead.
        var warning = Assert.Single(loaded.Warnings, w => w.Path.Contains("transform", StringComparison.Ordinal));
        Assert.EndsWith(".transform.response.add_headers.X-Cache-Status", warning.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Problem_bodies_of_a_refused_rewrite_are_problem_json()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /slow/*rest
                backend: "{{{backend.Url}}}"
                strip_prefix: true
                transform: {request: {path_rewrites: [{pattern: '^/(?=(a+)+$)', replacement: "/x/"}]}}
            """);
        using var response = await gateway.Client.GetAsync("/slow/" + new string('a', 30) + "!");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(400, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.TryGetProperty("request_id", out _));
    }
}
