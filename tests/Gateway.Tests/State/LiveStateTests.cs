using Gateway.Configuration;
using Gateway.State;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.State;

/// <summary>The registries keep what every live snapshot names, however it came to be made.</summary>
public sealed class LiveStateTests
{
    private static GatewayConfig Load(string yaml)
    {
        var loaded = ConfigLoader.LoadText(yaml, "s.yaml", ".", _ => null);
        Assert.False(loaded.HasErrors, string.Join('\n', loaded.Problems));
        return loaded.Config!;
    }

    [Fact]
    public async Task A_shared_redis_connection_stays_live_across_reloads_that_keep_its_users()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var state = new LiveState(time, null, offline: true);
        var config = Load("""
            auth:
              api_key: {redis: {url: "redis://127.0.0.1:1"}}
            rate_limiting:
              redis: {url: "redis://127.0.0.1:2"}
            routes:
              - {path: /a, mock: {status: 200}, auth: {required: true}, rate_limit: [{dimension: ip, requests: 5, window_secs: 60}]}
            """);
        for (var version = 1; version <= 3; version++)
        {
            // Every reload compiles again: stores are kept, and so must be the connections they run on.
            state.Commit(ConfigCompiler.Compile(config, version, time.GetUtcNow(), state));
            Assert.Equal(2, state.RedisConnections.Count);
            Assert.Equal(1, state.ApiKeyStores.Count);
            Assert.Equal(1, state.RedisRateLimits.Count);
        }

        time.Advance(LiveState.RetireGrace + TimeSpan.FromSeconds(1));
        Assert.Equal(2, state.RedisConnections.Count);

        state.Commit(ConfigCompiler.Compile(Load("routes:\n  - {path: /a, mock: {status: 200}}\n"), 4, time.GetUtcNow(), state));
        Assert.Equal(0, state.RedisConnections.Count);
        Assert.Equal(0, state.ApiKeyStores.Count);
    }

    [Fact]
    public async Task Backends_retry_budgets_and_pools_are_kept_per_route_and_retired_with_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var state = new LiveState(time, null, offline: true);
        var two = Load("""
            retry: {max_retries: 2}
            routes:
              - {id: a, path: /a, backend: "http://127.0.0.1:9"}
              - {id: b, path: /b, backend: "http://127.0.0.1:9"}
            """);
        state.Commit(ConfigCompiler.Compile(two, 1, time.GetUtcNow(), state));
        var backends = state.Backends.Values;
        Assert.Equal(2, backends.Count);
        Assert.Equal(2, state.RetryBudgets.Count);
        Assert.Equal(1, state.Upstream.Http1!.Endpoints.Count);

        state.Commit(ConfigCompiler.Compile(two, 2, time.GetUtcNow(), state));
        Assert.Equal(backends.OrderBy(b => b.GetHashCode()), state.Backends.Values.OrderBy(b => b.GetHashCode()));

        state.Commit(ConfigCompiler.Compile(Load("routes:\n  - {id: a, path: /a, backend: \"http://127.0.0.1:9\"}\n"), 3, time.GetUtcNow(), state));
        Assert.Single(state.Backends.Values);
        Assert.Equal(0, state.RetryBudgets.Count);
        Assert.Equal(1, state.Upstream.Http1!.Endpoints.Count);
    }
}
