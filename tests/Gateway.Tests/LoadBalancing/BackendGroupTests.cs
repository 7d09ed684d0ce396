using System.Net;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Health;
using Gateway.LoadBalancing;
using Gateway.Resilience;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.LoadBalancing;

public sealed class BackendGroupTests
{
    /// <summary>Backends with their weights on one route.</summary>
    private sealed record Pool(Backend[] Items, int[] Weights)
    {
        public Backend this[int index] => Items[index];
    }

    private static Pool Backends(params int[] weights) =>
        new([.. weights.Select((w, i) => new Backend($"http://10.0.0.{i + 1}:80", new BackendHealth(new HealthCheckConfig { PassiveEnabled = true, UnhealthyThreshold = 1, EjectionSecs = 30 }, TimeProvider.System), null))], weights);

    private static BackendGroup Group(Pool pool, string strategy, string? hashOn, bool panicMode) => new(pool.Items, pool.Weights, strategy, hashOn, panicMode);

    private static BalancingInput Input(HttpContext context, IPAddress? client) => new(context.Request.Headers, client);

    private static readonly HttpContext Context = new DefaultHttpContext();

    private static Dictionary<string, int> Spread(BackendGroup group, int requests, Func<int, IPAddress?>? client = null)
    {
        var counts = group.Backends.ToDictionary(b => b.Name, _ => 0);
        for (var i = 0; i < requests; i++)
        {
            counts[group.Select(Input(Context, client?.Invoke(i)), null)!.Name]++;
        }

        return counts;
    }

    [Fact]
    public void Round_robin_is_exact()
    {
        var counts = Spread(Group(Backends(1, 1, 1), "round_robin", null, false), 300);
        Assert.All(counts.Values, c => Assert.Equal(100, c));
    }

    [Fact]
    public void Weighted_is_exact_and_smooth()
    {
        var group = Group(Backends(5, 1, 1), "weighted", null, false);
        var sequence = Enumerable.Range(0, 7).Select(_ => group.Select(Input(Context, null), null)!.Name[^1]).ToArray();
        Assert.Equal("1121311", new string(sequence));

        var counts = Spread(Group(Backends(3, 2, 1), "weighted", null, false), 600);
        Assert.Equal([300, 200, 100], counts.Values);
    }

    [Fact]
    public void Random_and_power_of_two_spread_over_all_backends()
    {
        var random = Spread(Group(Backends(3, 1), "random", null, false), 8000);
        Assert.InRange(random.Values.First(), 5600, 6400);
        var two = Spread(Group(Backends(1, 1, 1), "power_of_two", null, false), 3000);
        Assert.All(two.Values, c => Assert.InRange(c, 700, 1300));
    }

    [Fact]
    public void Least_connections_picks_the_least_busy()
    {
        var backends = Backends(1, 1, 1);
        var group = Group(backends, "least_connections", null, false);
        backends[0].Started();
        backends[0].Started();
        backends[2].Started();
        Assert.Same(backends[1], group.Select(Input(Context, null), null));
        backends[1].Started();
        backends[1].Started();
        Assert.Same(backends[2], group.Select(Input(Context, null), null));
    }

    [Fact]
    public void Ip_hash_keeps_a_client_on_one_backend()
    {
        var group = Group(Backends(1, 1, 1), "ip_hash", null, false);
        for (var i = 0; i < 50; i++)
        {
            var client = IPAddress.Parse($"198.51.100.{i}");
            var first = group.Select(Input(Context, client), null);
            Assert.All(Enumerable.Range(0, 5), _ => Assert.Same(first, group.Select(Input(Context, client), null)));
        }

        var spread = Spread(group, 3000, i => new IPAddress(BitConverter.GetBytes(i * 7919 + 1)));
        Assert.All(spread.Values, c => Assert.InRange(c, 700, 1300));
    }

    [Fact]
    public void Consistent_hash_moves_only_the_share_of_a_backend_that_leaves()
    {
        var backends = Backends(1, 1, 1, 1, 1);
        var group = Group(backends, "consistent_hash", "header:X-User", false);
        HttpContext For(int user)
        {
            var context = new DefaultHttpContext();
            context.Request.Headers["X-User"] = "user-" + user;
            return context;
        }

        var before = Enumerable.Range(0, 5000).Select(u => group.Select(Input(For(u), null), null)!).ToArray();
        var shares = before.GroupBy(b => b).Select(g => g.Count()).ToArray();
        Assert.All(shares, s => Assert.InRange(s, 700, 1300));

        // Backend 3 goes away (ejected by passive health): only its keys move.
        backends[2].Health.RecordPassive(success: false);
        Assert.False(backends[2].Available);
        var after = Enumerable.Range(0, 5000).Select(u => group.Select(Input(For(u), null), null)!).ToArray();
        for (var u = 0; u < 5000; u++)
        {
            if (before[u] != backends[2])
            {
                Assert.Same(before[u], after[u]);
            }
            else
            {
                Assert.NotSame(backends[2], after[u]);
            }
        }
    }

    [Fact]
    public void Unavailable_backends_are_skipped_and_panic_mode_uses_them_when_none_is_left()
    {
        var backends = Backends(1, 1);
        backends[0].Health.RecordPassive(success: false);
        var group = Group(backends, "round_robin", null, panicMode: false);
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Same(backends[1], group.Select(Input(Context, null), null)));
        backends[1].Health.RecordPassive(success: false);
        Assert.Null(group.Select(Input(Context, null), null));
        var panic = Group(backends, "round_robin", null, panicMode: true);
        Assert.NotNull(panic.Select(Input(Context, null), null));
    }

    [Fact]
    public void Open_breakers_take_a_backend_out_and_tried_backends_are_avoided()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var breaker = new CircuitBreaker(new CircuitBreakerConfig { FailureThreshold = 1, TimeoutSecs = 30 }, time);
        var open = new Backend("http://10.0.0.1:80", new BackendHealth(null, time), breaker);
        var other = new Backend("http://10.0.0.2:80", new BackendHealth(null, time), null);
        var third = new Backend("http://10.0.0.3:80", new BackendHealth(null, time), null);
        breaker.Record(success: false, false);
        var group = new BackendGroup([open, other, third], [1, 1, 1], "round_robin", null, false);
        Assert.All(Enumerable.Range(0, 10), _ => Assert.NotSame(open, group.Select(Input(Context, null), null)));
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Same(third, group.Select(Input(Context, null), [other])));
    }

    [Fact]
    public void Health_follows_the_thresholds_and_ejection_ends()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var health = new BackendHealth(new HealthCheckConfig { Enabled = true, UnhealthyThreshold = 2, HealthyThreshold = 3, PassiveEnabled = true, EjectionSecs = 10 }, time);
        health.RecordActive(false);
        Assert.True(health.IsAvailable);
        health.RecordActive(false);
        Assert.False(health.IsAvailable);
        health.RecordActive(true);
        health.RecordActive(true);
        Assert.False(health.IsAvailable);
        health.RecordActive(true);
        Assert.True(health.IsAvailable);

        health.RecordPassive(false);
        health.RecordPassive(true);
        health.RecordPassive(false);
        Assert.True(health.IsAvailable);
        health.RecordPassive(false);
        Assert.False(health.IsAvailable);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void Large_weights_stay_exact_and_bounded()
    {
        var weighted = Spread(Group(Backends(10_000, 10_000, 1), "weighted", null, false), 20_001);
        Assert.Equal([10_000, 10_000, 1], weighted.Values);
        var random = Spread(Group(Backends(10_000, 10_000), "random", null, false), 1000);
        Assert.All(random.Values, c => Assert.InRange(c, 350, 650));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ring = Group(Backends(10_000, 100), "consistent_hash", "ip", false);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2));
        var hits = Spread(ring, 20_000, i => new IPAddress(BitConverter.GetBytes(i + 1)));
        Assert.InRange(hits.Values.Last(), 1, 1000);

        var config = Gateway.Configuration.ConfigLoader.LoadText("routes:\n  - {path: /a, backends: [{url: \"http://127.0.0.1:1\", weight: 10001}], load_balancer: {strategy: random, hash_on: ip}}\n", "w.yaml", ".", _ => null);
        Assert.Contains(config.Errors, e => e.Path == "routes[0].backends[0].weight");
        Assert.Contains(config.Warnings, w => w.Path == "routes[0].load_balancer.hash_on");
    }

    [Fact]
    public void Retry_budget_caps_retries_to_a_share_of_requests()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var budget = new RetryBudget(0.2, time);
        for (var i = 0; i < 200; i++)
        {
            budget.RecordRequest();
        }

        var allowed = Enumerable.Range(0, 100).Count(_ => budget.TryRetry());
        Assert.Equal(40, allowed);
        time.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(10, Enumerable.Range(0, 100).Count(_ => budget.TryRetry()));
    }
}
