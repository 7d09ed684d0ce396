using System.Net;
using Gateway.Tests.Forwarding;

namespace Gateway.Tests.RateLimiting;

/// <summary>Local rate limiting through the real gateway.</summary>
public sealed class RateLimitFunctionalTests
{
    [Fact]
    public async Task Limited_routes_carry_headers_and_answer_429_with_retry_after()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /limited
                backend: "{{{backend.Url}}}"
                rate_limit:
                  - {dimension: ip, requests: 3, window_secs: 60}
              - {path: /free, backend: "{{{backend.Url}}}"}
            """);
        for (var i = 3; i > 0; i--)
        {
            using var ok = await gateway.Client.GetAsync("/limited");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("3", ok.Headers.GetValues("X-RateLimit-Limit").Single());
            Assert.Equal((i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), ok.Headers.GetValues("X-RateLimit-Remaining").Single());
            Assert.True(int.Parse(ok.Headers.GetValues("X-RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        }

        using var limited = await gateway.Client.GetAsync("/limited");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("0", limited.Headers.GetValues("X-RateLimit-Remaining").Single());
        await ForwardingTests.AssertProblemAsync(limited, 429);
        Assert.Equal(3, backend.Requests);

        using var free = await gateway.Client.GetAsync("/free");
        Assert.False(free.Headers.Contains("X-RateLimit-Limit"));
    }

    [Fact]
    public async Task Spoofed_forwarded_for_does_not_change_the_ip_key_and_options_count()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            rate_limiting:
              global:
                - {dimension: ip, requests: 4, window_secs: 60}
            routes:
              - {path: /a, backend: "{{{backend.Url}}}"}
              - {path: /b, backend: "{{{backend.Url}}}"}
            """);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, i % 2 == 0 ? "/a" : "/b");
            request.Headers.Add("X-Forwarded-For", $"198.51.100.{i}");
            statuses.Add((await gateway.Client.SendAsync(request)).StatusCode);
        }

        using var options = new HttpRequestMessage(HttpMethod.Options, "/a");
        statuses.Add((await gateway.Client.SendAsync(options)).StatusCode);
        using var fifth = new HttpRequestMessage(HttpMethod.Get, "/b");
        fifth.Headers.Add("X-Forwarded-For", "192.0.2.200");
        statuses.Add((await gateway.Client.SendAsync(fifth)).StatusCode);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task Header_user_and_route_dimensions_count_separately()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - path: /tenant
                backend: "{{{backend.Url}}}"
                rate_limit: [{dimension: "header:X-Tenant", requests: 1, window_secs: 60}]
              - path: /user
                backend: "{{{backend.Url}}}"
                auth: {required: true}
                rate_limit: [{dimension: user, requests: 1, window_secs: 60}]
              - path: /route
                backend: "{{{backend.Url}}}"
                rate_limit: [{dimension: route, requests: 2, window_secs: 60}]
            """);

        async Task<HttpStatusCode> Send(string path, string? tenant = null, string? token = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (tenant is not null)
            {
                request.Headers.Add("X-Tenant", tenant);
            }

            if (token is not null)
            {
                request.Headers.Add("Authorization", "Bearer " + token);
            }

            return (await gateway.Client.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Send("/tenant", "a"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send("/tenant", "a"));
        Assert.Equal(HttpStatusCode.OK, await Send("/tenant", "b"));
        Assert.Equal(HttpStatusCode.OK, await Send("/tenant"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send("/tenant"));

        Assert.Equal(HttpStatusCode.OK, await Send("/user", token: Tokens.Hs256(Tokens.Claims("alice"))));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send("/user", token: Tokens.Hs256(Tokens.Claims("alice"))));
        Assert.Equal(HttpStatusCode.OK, await Send("/user", token: Tokens.Hs256(Tokens.Claims("bob"))));

        Assert.Equal(HttpStatusCode.OK, await Send("/route"));
        Assert.Equal(HttpStatusCode.OK, await Send("/route", "x"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send("/route", "y"));
    }
}
