using System.Net;
using Gateway.Configuration;
using Gateway.Forwarding;

namespace Gateway.Tests.RateLimiting;

/// <summary>Findings of the rate-limiting review, kept as regressions.</summary>
public sealed class RateLimitInputTests
{
    [Fact]
    public void Client_addresses_normalize_mapped_and_zoned_forms()
    {
        Assert.Equal(IPAddress.Parse("10.1.2.3"), ClientAddress.Normalize(IPAddress.Parse("::ffff:10.1.2.3")));
        Assert.Equal(IPAddress.Parse("10.1.2.3"), ClientAddress.Normalize(IPAddress.Parse("10.1.2.3")));
        Assert.Equal(ClientAddress.Normalize(IPAddress.Parse("fe80::1%2")), ClientAddress.Normalize(IPAddress.Parse("fe80::1%3")));
    }

    [Fact]
    public void Tiny_windows_are_refused_and_ignored_bursts_are_pointed_out()
    {
        var tiny = ConfigLoader.LoadText("routes:\n  - {path: /a, mock: {status: 200}, rate_limit: [{dimension: ip, requests: 1, window_secs: 1e-12}]}\n", "t.yaml", ".", _ => null);
        Assert.Contains(tiny.Errors, e => e.Path == "routes[0].rate_limit[0].window_secs");
        var burst = ConfigLoader.LoadText("rate_limiting: {local_algorithm: fixed_window}\nroutes:\n  - {path: /a, mock: {status: 200}, rate_limit: [{dimension: ip, requests: 1, window_secs: 1, burst: 5}]}\n", "t.yaml", ".", _ => null);
        Assert.Contains(burst.Warnings, w => w.Path == "rate_limiting" && w.Message.Contains("burst applies to token_bucket only", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Duplicated_headers_count_as_their_joined_value_and_mock_headers_do_not_override_ours()
    {
        await using var gateway = await TestGateway.StartAsync("""
            routes:
              - path: /hdr
                mock: {status: 200, headers: {X-RateLimit-Limit: "1234"}}
                rate_limit: [{dimension: "header:X-Tenant", requests: 1, window_secs: 60}]
            """);

        async Task<HttpResponseMessage> Send(params string[] tenants)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/hdr");
            foreach (var tenant in tenants)
            {
                request.Headers.TryAddWithoutValidation("X-Tenant", tenant);
            }

            return await gateway.Client.SendAsync(request);
        }

        using var first = await Send("acme");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("1", first.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Send("acme")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send("r1", "acme")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Send("r1", "acme")).StatusCode);
    }
}
