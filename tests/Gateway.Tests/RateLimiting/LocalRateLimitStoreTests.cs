using System.Net;
using Gateway.Configuration;
using Gateway.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.RateLimiting;

public sealed class LocalRateLimitStoreTests
{
    private static CompiledLimit Limit(long requests, double windowSecs, long? burst = null) =>
        new(0, "route:t:0", new RateLimitRule { Dimension = "ip", Requests = requests, WindowSecs = windowSecs, Burst = burst });

    private static readonly IPAddress Client = IPAddress.Parse("203.0.113.7");

    [Theory]
    [InlineData("token_bucket")]
    [InlineData("fixed_window")]
    [InlineData("sliding_window")]
    public async Task Exactly_n_of_m_pass_under_32_way_concurrency(string algorithm)
    {
        var store = new LocalRateLimitStore(RateLimiter.Parse(algorithm), 10_000, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var limit = Limit(100, 60);
        var allowed = 0;
        await Parallel.ForAsync(0, 1000, new ParallelOptions { MaxDegreeOfParallelism = 32 }, (_, _) =>
        {
            if (store.Acquire(limit, Client).Allowed)
            {
                Interlocked.Increment(ref allowed);
            }

            return ValueTask.CompletedTask;
        });
        Assert.Equal(100, allowed);
    }

    [Fact]
    public void Token_bucket_allows_the_burst_then_refills_at_the_rate()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new LocalRateLimitStore(LimitAlgorithm.TokenBucket, 1000, time);
        var limit = Limit(10, 10, burst: 15);
        for (var i = 0; i < 15; i++)
        {
            Assert.True(store.Acquire(limit, Client).Allowed);
        }

        var refused = store.Acquire(limit, Client);
        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Reset);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(store.Acquire(limit, Client).Allowed);
        time.Advance(TimeSpan.FromMilliseconds(2));
        var again = store.Acquire(limit, Client);
        Assert.True(again.Allowed);
        Assert.Equal(0, again.Remaining);
        time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(14, store.Acquire(limit, Client).Remaining);
    }

    [Fact]
    public void Fixed_window_resets_at_the_window_edge()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new LocalRateLimitStore(LimitAlgorithm.FixedWindow, 1000, time);
        var limit = Limit(3, 10);
        Assert.Equal(2, store.Acquire(limit, Client).Remaining);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, store.Acquire(limit, Client).Remaining);
        Assert.Equal(0, store.Acquire(limit, Client).Remaining);
        var refused = store.Acquire(limit, Client);
        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(6), refused.Reset);
        time.Advance(TimeSpan.FromSeconds(5.999));
        Assert.False(store.Acquire(limit, Client).Allowed);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(store.Acquire(limit, Client).Allowed);

        // Idle for several windows: a fresh window, full allowance.
        time.Advance(TimeSpan.FromSeconds(95));
        Assert.Equal(2, store.Acquire(limit, Client).Remaining);
    }

    [Fact]
    public void Sliding_window_weighs_the_previous_window()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new LocalRateLimitStore(LimitAlgorithm.SlidingWindow, 1000, time);
        var limit = Limit(10, 10);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(store.Acquire(limit, Client).Allowed);
        }

        Assert.False(store.Acquire(limit, Client).Allowed);

        // Half-way into the next window, half of the previous 10 still count: 5 more fit.
        time.Advance(TimeSpan.FromSeconds(15));
        var passed = 0;
        while (store.Acquire(limit, Client).Allowed)
        {
            passed++;
        }

        Assert.Equal(5, passed);

        // Two windows later nothing of the old traffic counts.
        time.Advance(TimeSpan.FromSeconds(20));
        passed = 0;
        while (store.Acquire(limit, Client).Allowed)
        {
            passed++;
        }

        Assert.Equal(10, passed);
    }

    [Fact]
    public void Sliding_window_retry_after_lets_the_next_request_through()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new LocalRateLimitStore(LimitAlgorithm.SlidingWindow, 1000, time);
        var limit = Limit(5, 10);
        LimitDecision last = default;
        for (var i = 0; i < 7; i++)
        {
            last = store.Acquire(limit, Client);
            time.Advance(TimeSpan.FromMilliseconds(500));
        }

        Assert.False(last.Allowed);
        time.Advance(last.Reset - TimeSpan.FromMilliseconds(500) + TimeSpan.FromMilliseconds(1));
        Assert.True(store.Acquire(limit, Client).Allowed);
    }

    [Fact]
    public void Clients_are_counted_apart_and_state_stays_bounded()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new LocalRateLimitStore(LimitAlgorithm.TokenBucket, 1000, time);
        var limit = Limit(1, 60);
        Assert.True(store.Acquire(limit, IPAddress.Parse("10.0.0.1")).Allowed);
        Assert.False(store.Acquire(limit, IPAddress.Parse("10.0.0.1")).Allowed);
        Assert.True(store.Acquire(limit, IPAddress.Parse("10.0.0.2")).Allowed);

        for (var i = 0; i < 50_000; i++)
        {
            store.Acquire(limit, new IPAddress(BitConverter.GetBytes(i + 1_000_000)));
        }

        // Bounded (plus the one bucket newcomers share while full), and the flood reset nobody's counter.
        Assert.True(store.Count <= 1001, $"{store.Count} keys tracked");
        Assert.False(store.Acquire(limit, IPAddress.Parse("10.0.0.1")).Allowed);

        // Long client values (header dimension) are kept as digests: the same value still maps to one bucket.
        var longValue = new string('v', 10_000);
        var fresh = new LocalRateLimitStore(LimitAlgorithm.TokenBucket, 1000, time);
        Assert.True(fresh.Acquire(limit, longValue).Allowed);
        Assert.False(fresh.Acquire(limit, new string('v', 10_000)).Allowed);
    }
}
