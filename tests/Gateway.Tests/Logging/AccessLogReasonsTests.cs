using System.Text.Json;

namespace Gateway.Tests.Logging;

/// <summary>
/// The access log's <c>reason</c> for each answer the gateway makes itself, produced with real components: ports with
/// nothing listening, backends that hang, reset or answer garbage, real breakers, limits and credentials.
/// </summary>
public sealed class AccessLogReasonsTests
{
    [Fact]
    public async Task Upstream_failures_name_their_cause()
    {
        var (listener, fillers, blackhole) = RawBackend.Blackhole();
        try
        {
            await using var slow = await TestBackend.StartAsync(async context =>
            {
                await Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System, context.RequestAborted);
            });
            await using var unavailable = await TestBackend.StartAsync(context =>
            {
                context.Response.StatusCode = 503;
                return Task.CompletedTask;
            });
            using var reset = RawBackend.ResetBeforeResponse();
            using var garbage = RawBackend.Garbage();
            await using var gateway = await TestGateway.StartAsync($$$"""
                server: {host: 127.0.0.1, port: 0, connect_timeout_secs: 0.5}
                routes:
                  - {id: refused, path: /refused, backend: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"}
                  - {id: blackhole, path: /blackhole, backend: "{{{blackhole}}}"}
                  - {id: slow, path: /slow, backend: "{{{slow.Url}}}", timeout_secs: 0.5}
                  - {id: reset, path: /reset, backend: "{{{reset.Url}}}"}
                  - {id: garbage, path: /garbage, backend: "{{{garbage.Url}}}"}
                  # The backoff outlasts the route's deadline: the held-back 503 cannot be retried and is the gateway's answer.
                  - id: held
                    path: /held
                    backend: "{{{unavailable.Url}}}"
                    timeout_secs: 1
                    retry: {max_retries: 1, initial_backoff_ms: 5000, max_backoff_ms: 5000}
                """);

            await AssertReasonAsync(gateway, "/refused", 502, "upstream_connect_refused");
            await AssertReasonAsync(gateway, "/blackhole", 502, "upstream_connect_timeout");
            await AssertReasonAsync(gateway, "/slow", 504, "upstream_timeout");
            await AssertReasonAsync(gateway, "/reset", 502, "upstream_reset");
            await AssertReasonAsync(gateway, "/garbage", 502, "upstream_bad_response");
            await AssertReasonAsync(gateway, "/held", 503, "upstream_5xx");
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
            listener.Dispose();
        }
    }

    [Fact]
    public async Task An_open_breaker_and_no_healthy_backend_are_told_apart()
    {
        await using var failing = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - id: breaker
                path: /breaker
                backend: "{{{failing.Url}}}"
                circuit_breaker: {failure_threshold: 1, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}
              - id: ejected
                path: /ejected
                backend: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"
                health_check: {passive_enabled: true, unhealthy_threshold: 1, ejection_secs: 60}
            """);
        // The backend's own 500 opens the breaker; it is the backend's answer, so it has no reason.
        await AssertReasonAsync(gateway, "/breaker", 500, null);
        await AssertReasonAsync(gateway, "/breaker", 503, "circuit_open");
        await AssertReasonAsync(gateway, "/ejected", 502, "upstream_connect_refused");
        await AssertReasonAsync(gateway, "/ejected", 503, "no_healthy_backend");
        Assert.Equal(1, failing.Requests);
    }

    [Fact]
    public async Task A_rate_limited_request_names_the_limit()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            rate_limiting:
              global:
                - {dimension: "header:X-Tenant", requests: 1, window_secs: 60}
            routes:
              - {id: open, path: /open, backend: "{{{backend.Url}}}"}
              - {id: limited, path: /limited, backend: "{{{backend.Url}}}", rate_limit: [{dimension: ip, requests: 1, window_secs: 60}]}
            """);
        // Each with a tenant of its own, so that only the route's limit refuses (when two refuse, the longer wait names it).
        await AssertReasonAsync(gateway, "/limited", 200, null, ("X-Tenant", "first"));
        var limited = await AssertReasonAsync(gateway, "/limited", 429, "rate_limited:route:limited:ip:1/60s", ("X-Tenant", "second"));
        Assert.Equal("limited", limited.GetProperty("route").GetString());

        await AssertReasonAsync(gateway, "/open", 200, null, ("X-Tenant", "acme"));
        await AssertReasonAsync(gateway, "/open", 429, "rate_limited:global:header:X-Tenant:1/60s", ("X-Tenant", "acme"));
    }

    [Fact]
    public async Task Auth_refusals_name_the_reason_and_never_the_credential()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", algorithm: HS256, issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
              api_key:
                header: X-API-Key
                keys: {"sk_test_123456789": "dev-key"}
            routes:
              - {id: key, path: /key, backend: "{{{backend.Url}}}", auth: {required: true, methods: [apikey]}}
              - {id: jwt, path: /jwt, backend: "{{{backend.Url}}}", auth: {required: true, methods: [jwt]}}
              - {id: scoped, path: /scoped, backend: "{{{backend.Url}}}", auth: {required: true, methods: [jwt], scopes: [orders.write]}}
            """);
        const string WrongKey = "sk_wrong_key_value_4711";
        var expired = Tokens.Hs256(Tokens.Claims(expiresInSecs: -300));
        var forged = Tokens.Hs256(secret: "another-secret-of-at-least-32-bytes-length!!");
        var unscoped = Tokens.Hs256(Tokens.Claims(sub: "alice", scope: "orders.read"));

        await AssertReasonAsync(gateway, "/key", 401, "auth:missing");
        await AssertReasonAsync(gateway, "/key", 401, "auth:invalid_key", ("X-API-Key", WrongKey));
        await AssertReasonAsync(gateway, "/jwt", 401, "auth:expired", ("Authorization", "Bearer " + expired));
        await AssertReasonAsync(gateway, "/jwt", 401, "auth:bad_signature", ("Authorization", "Bearer " + forged));
        var forbidden = await AssertReasonAsync(gateway, "/scoped", 403, "forbidden:scope", ("Authorization", "Bearer " + unscoped));
        Assert.Equal("alice", forbidden.GetProperty("user").GetString());

        var all = string.Join('\n', await gateway.LogLinesAsync());
        foreach (var secret in new[] { WrongKey, expired, forged, unscoped, expired.Split('.')[2], forged.Split('.')[2] })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Requests_the_gateway_refuses_or_answers_itself_say_why()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            max_request_size: 10
            routes:
              - {id: users, path: /users/*rest, backend: "{{{backend.Url}}}", methods: [GET]}
              - {id: hello, path: /hello, mock: {status: 200, body: "hi"}}
              - {id: filtered, path: /filtered, backend: "{{{backend.Url}}}", ip_filter: {whitelist: [10.0.0.0/8], default_action: deny}}
            """);
        await AssertReasonAsync(gateway, "/users/1", 200, null);
        await AssertReasonAsync(gateway, "/nowhere", 404, "route_not_found");
        await AssertReasonAsync(gateway, "/users/..;/admin", 400, "bad_request:path");
        await AssertReasonAsync(gateway, "/hello", 200, "mock");
        await AssertReasonAsync(gateway, "/filtered", 403, "forbidden:ip");
        await AssertReasonAsync(gateway, "/users/" + new string('a', 9000), 414, "uri_too_long");
        await AssertReasonAsync(gateway, "/users/1", 431, "headers_too_large", ("X-Big", new string('b', 40_000)));

        using var post = new HttpRequestMessage(HttpMethod.Post, "/users/1") { Content = new StringContent("x") };
        await AssertReasonAsync(gateway, post, 405, "method_not_allowed");
        using var large = new HttpRequestMessage(HttpMethod.Get, "/hello") { Content = new ByteArrayContent(new byte[100]) };
        await AssertReasonAsync(gateway, large, 413, "body_too_large");
    }

    [Fact]
    public async Task A_client_that_goes_away_is_logged_as_499_client_closed()
    {
        using var hang = RawBackend.Hang();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {id: hang, path: /hang, backend: "{{{hang.Url}}}", timeout_secs: 10}
            """);
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gateway.Client.GetAsync("/hang", cancel.Token));
        }

        var line = Assert.Single(await AccessLines.JsonAsync(gateway, 1));
        Assert.Equal(499, line.GetProperty("status").GetInt32());
        Assert.Equal("client_closed", line.GetProperty("reason").GetString());
    }

    private static async Task<JsonElement> AssertReasonAsync(TestGateway gateway, string path, int status, string? reason, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await AssertReasonAsync(gateway, request, status, reason);
    }

    private static async Task<JsonElement> AssertReasonAsync(TestGateway gateway, HttpRequestMessage request, int status, string? reason)
    {
        using var response = await gateway.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{request.RequestUri}: expected {status}, got {(int)response.StatusCode} {body}");
        var line = await AccessLines.JsonForAsync(gateway, response);
        Assert.Equal(status, line.GetProperty("status").GetInt32());
        Assert.Equal(reason, line.GetProperty("reason").GetString());
        return line;
    }
}
