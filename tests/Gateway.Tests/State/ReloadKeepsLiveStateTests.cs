using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.State;

/// <summary>A reload keeps the live state of what it leaves unchanged, and retires what it removes (SPEC section 6).</summary>
public sealed class ReloadKeepsLiveStateTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gw-state-").FullName;

    private string ConfigPath => Path.Combine(_directory, "gateway.yaml");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Config(string routes, string extra = "") => $"""
        server: {"{"}host: 127.0.0.1, port: 0{"}"}
        admin: {"{"}host: 127.0.0.1, port: 0{"}"}
        {extra}
        routes:
        {routes}
        """;

    private async Task<TestGateway> StartAsync(string text)
    {
        await File.WriteAllTextAsync(ConfigPath, text);
        return await TestGateway.StartFromFileAsync(ConfigPath);
    }

    private async Task ReloadAsync(TestGateway gateway, string text)
    {
        var version = gateway.Host.Store.Current.Version;
        await File.WriteAllTextAsync(ConfigPath, text);
        var result = gateway.Host.Reload("test");
        Assert.True(result.Applied, string.Join('\n', result.Problems));
        Assert.Equal(version + 1, gateway.Host.Store.Current.Version);
    }

    private static async Task<string> ProblemTypeAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("type").GetString()!;
    }

    [Fact]
    public async Task A_backend_that_health_checks_took_out_stays_out_and_is_not_probed_afresh()
    {
        var probes = 0;
        await using var sick = await TestBackend.StartAsync(context =>
        {
            if (context.Request.Path == "/health")
            {
                Interlocked.Increment(ref probes);
            }

            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        var route = $"  - {{id: api, path: /api, backend: \"{sick.Url}\", health_check: {{enabled: true, interval_secs: 3600, timeout_secs: 1, unhealthy_threshold: 1}}}}";
        await using var gateway = await StartAsync(Config(route));
        for (var i = 0; i < 100 && (await gateway.Client.GetAsync("/api")).StatusCode != HttpStatusCode.ServiceUnavailable; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, Volatile.Read(ref probes));
        await ReloadAsync(gateway, Config(route + "\n  - {id: other, path: /other, mock: {status: 204}}"));
        var response = await gateway.Client.GetAsync("/api");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("urn:gateway:problem:no-healthy-backend", await ProblemTypeAsync(response));
        await Task.Delay(200);
        Assert.Equal(1, Volatile.Read(ref probes));
        Assert.Equal(1, gateway.Host.State.HealthChecks!.Count);

        // A route that no longer checks health stops the probe.
        await ReloadAsync(gateway, Config($"  - {{id: api, path: /api, backend: \"{sick.Url}\"}}"));
        Assert.Equal(0, gateway.Host.State.HealthChecks!.Count);
    }

    [Fact]
    public async Task An_open_breaker_stays_open_across_a_reload_that_leaves_it_alone()
    {
        await using var failing = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        var breaker = "circuit_breaker: {failure_threshold: 2, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}";
        var route = $"  - {{id: api, path: /api, backend: \"{failing.Url}\"}}";
        await using var gateway = await StartAsync(Config(route, breaker));
        Assert.Equal(HttpStatusCode.InternalServerError, (await gateway.Client.GetAsync("/api")).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await gateway.Client.GetAsync("/api")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync("/api")).StatusCode);

        await ReloadAsync(gateway, Config(route + "\n  - {id: other, path: /other, mock: {status: 204}}", breaker));
        var response = await gateway.Client.GetAsync("/api");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("urn:gateway:problem:circuit-open", await ProblemTypeAsync(response));
        Assert.Equal(2, failing.Requests);

        // New breaker settings are a new breaker: it starts closed.
        await ReloadAsync(gateway, Config(route, breaker.Replace("failure_threshold: 2", "failure_threshold: 3", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.InternalServerError, (await gateway.Client.GetAsync("/api")).StatusCode);
        Assert.Equal(3, failing.Requests);
    }

    [Fact]
    public async Task A_rate_limit_keeps_counting_when_its_rule_is_unchanged_and_starts_afresh_when_it_changes()
    {
        string Route(int requests) => $"  - {{id: api, path: /api, mock: {{status: 200}}, rate_limit: [{{dimension: ip, requests: {requests}, window_secs: 3600}}]}}";
        await using var gateway = await StartAsync(Config(Route(3)));
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api")).StatusCode);

        await ReloadAsync(gateway, Config(Route(3) + "\n  - {id: other, path: /other, mock: {status: 204}}"));
        var third = await gateway.Client.GetAsync("/api");
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal("0", third.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, (await gateway.Client.GetAsync("/api")).StatusCode);

        await ReloadAsync(gateway, Config(Route(5)));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await gateway.Client.GetAsync("/api")).StatusCode);
    }

    [Fact]
    public async Task Connections_to_unchanged_backends_are_reused_and_those_to_removed_backends_are_closed()
    {
        await using var kept = await TestBackend.StartAsync(context => context.Response.WriteAsync("kept"));
        await using var removed = await TestBackend.StartAsync(context => context.Response.WriteAsync("removed"));
        var keptRoute = $"  - {{id: kept, path: /kept, backend: \"{kept.Url}\"}}";
        await using var gateway = await StartAsync(Config(keptRoute + $"\n  - {{id: gone, path: /gone, backend: \"{removed.Url}\"}}"));
        Assert.Equal("kept", await gateway.Client.GetStringAsync("/kept"));
        Assert.Equal("removed", await gateway.Client.GetStringAsync("/gone"));
        Assert.Equal(1, kept.Connections);
        Assert.Equal(1, removed.OpenConnections);

        await ReloadAsync(gateway, Config(keptRoute + "\n  - {id: new, path: /new, mock: {status: 204}}"));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("kept", await gateway.Client.GetStringAsync("/kept"));
        }

        Assert.Equal(1, kept.Connections);
        for (var i = 0; i < 100 && removed.OpenConnections > 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, removed.OpenConnections);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync("/gone")).StatusCode);
    }

    [Fact]
    public async Task Routes_naming_one_backend_keep_their_own_breaker_and_share_its_connections()
    {
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = context.Request.Path.StartsWithSegments("/public") ? 500 : 200;
            return Task.CompletedTask;
        });
        var breaker = "circuit_breaker: {failure_threshold: 2, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}";
        var routes = $"  - {{id: public, path: /public, backend: \"{backend.Url}\"}}\n  - {{id: private, path: /private, backend: \"{backend.Url}\"}}";
        await using var gateway = await StartAsync(Config(routes, breaker));
        Assert.Equal(2, gateway.Host.State.Backends.Count);
        Assert.Equal(HttpStatusCode.InternalServerError, (await gateway.Client.GetAsync("/public")).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await gateway.Client.GetAsync("/public")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync("/public")).StatusCode);

        // Anyone can make the public route fail; that never shuts the private one.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/private")).StatusCode);
        Assert.Equal(1, backend.Connections);

        await ReloadAsync(gateway, Config($"  - {{id: private, path: /private, backend: \"{backend.Url}\"}}", breaker));
        Assert.Equal(1, gateway.Host.State.Backends.Count);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/private")).StatusCode);
        Assert.Equal(1, backend.Connections);
    }

    [Fact]
    public async Task Cached_responses_outlive_a_reload_that_leaves_their_route_alone_and_never_one_that_changes_it()
    {
        await using var first = await TestBackend.StartAsync(context => context.Response.WriteAsync("first"));
        await using var second = await TestBackend.StartAsync(context => context.Response.WriteAsync("second"));
        string Route(string backend) => $"  - {{id: api, path: /api, backend: \"{backend}\", cache: {{enabled: true, ttl_secs: 3600}}}}";
        await using var gateway = await StartAsync(Config(Route(first.Url)));
        Assert.Equal("first", await gateway.Client.GetStringAsync("/api"));

        // Another route added: this one's entry is still served.
        await ReloadAsync(gateway, Config(Route(first.Url) + "\n  - {id: other, path: /other, mock: {status: 204}}"));
        using (var hit = await gateway.Client.GetAsync("/api"))
        {
            Assert.Equal("HIT", string.Join(",", hit.Headers.GetValues("X-Cache-Status")));
        }

        // The route now goes to another backend: what the old one said is never served for it.
        await ReloadAsync(gateway, Config(Route(second.Url)));
        using var fresh = await gateway.Client.GetAsync("/api");
        Assert.Equal("MISS", string.Join(",", fresh.Headers.GetValues("X-Cache-Status")));
        Assert.Equal("second", await fresh.Content.ReadAsStringAsync());
        Assert.Equal(1, second.Requests);
    }
}
