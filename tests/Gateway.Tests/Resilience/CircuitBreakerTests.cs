using Gateway.Configuration;
using Gateway.Resilience;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Resilience;

public sealed class CircuitBreakerTests
{
    [Fact]
    public void Opens_after_consecutive_failures_probes_when_half_open_and_closes_after_successes()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var transitions = new List<BreakerState>();
        var breaker = new CircuitBreaker(new CircuitBreakerConfig { FailureThreshold = 3, SuccessThreshold = 2, TimeoutSecs = 10, HalfOpenRequests = 1 }, time, transitions.Add);

        for (var i = 0; i < 2; i++)
        {
            Assert.True(breaker.TryAcquire(out var probe));
            Assert.False(probe);
            breaker.Record(success: false, probe);
        }

        breaker.Record(success: true, false);
        Assert.Equal(BreakerState.Closed, breaker.State);

        for (var i = 0; i < 3; i++)
        {
            breaker.Record(success: false, false);
        }

        Assert.Equal(BreakerState.Open, breaker.State);
        Assert.False(breaker.TryAcquire(out _));
        Assert.Equal(TimeSpan.FromSeconds(10), breaker.RetryAfter);

        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(breaker.CanAttempt());
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(BreakerState.HalfOpen, breaker.State);
        Assert.True(breaker.TryAcquire(out var first));
        Assert.True(first);
        Assert.False(breaker.TryAcquire(out _));

        breaker.Record(success: false, first);
        Assert.Equal(BreakerState.Open, breaker.State);

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(breaker.TryAcquire(out var second));
        breaker.Record(success: true, second);
        Assert.Equal(BreakerState.HalfOpen, breaker.State);
        Assert.True(breaker.TryAcquire(out var third));
        breaker.Record(success: true, third);
        Assert.Equal(BreakerState.Closed, breaker.State);

        Assert.Equal([BreakerState.Open, BreakerState.HalfOpen, BreakerState.Open, BreakerState.HalfOpen, BreakerState.Closed], transitions);
    }

    [Fact]
    public void Half_open_lets_the_configured_number_of_probes_through_at_once()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var breaker = new CircuitBreaker(new CircuitBreakerConfig { FailureThreshold = 1, SuccessThreshold = 3, TimeoutSecs = 1, HalfOpenRequests = 3 }, time);
        breaker.Record(success: false, false);
        time.Advance(TimeSpan.FromSeconds(1));
        var probes = 0;
        while (breaker.TryAcquire(out var probe) && probe)
        {
            probes++;
            if (probes > 10)
            {
                break;
            }
        }

        Assert.Equal(3, probes);
    }
}
