using System.Buffers;
using Gateway.Forwarding;

namespace Gateway.LoadBalancing;

/// <summary>
/// The backends of one route, their weights there, and how one is chosen per request. Only available backends are
/// candidates (healthy, breaker not open), backends already tried for this request are avoided while others remain,
/// and with <c>panic_mode</c> unhealthy backends are used when no healthy one is left.
/// </summary>
internal sealed class BackendGroup
{
    public BackendGroup(Backend[] backends, int[] weights, string strategy, string? hashOn, bool panicMode)
    {
        Backends = backends;
        Weights = weights;
        Strategy = strategy;
        HashOn = hashOn;
        PanicMode = panicMode;
        Policy = LoadBalancingPolicies.Create(strategy, hashOn, [.. backends.Select(b => b.Name)], weights);
    }

    public Backend[] Backends { get; }

    /// <summary>The weight of each backend on this route (same order as <see cref="Backends"/>).</summary>
    public int[] Weights { get; }

    public string Strategy { get; }

    public string? HashOn { get; }

    public bool PanicMode { get; }

    public ILoadBalancingPolicy Policy { get; }

    /// <summary>Picks a backend, or null when none can take the request (the caller answers 503).</summary>
    public Backend? Select(in BalancingInput input, List<Backend>? tried)
    {
        if (Backends.Length == 1)
        {
            var only = Backends[0];
            return only.Available || (PanicMode && (only.Breaker?.CanAttempt() ?? true)) ? only : null;
        }

        int[]? rented = null;
        var candidates = Backends.Length <= 64 ? stackalloc int[Backends.Length] : (rented = ArrayPool<int>.Shared.Rent(Backends.Length));
        try
        {
            var count = Collect(candidates, tried, ignoreHealth: false);
            if (count == 0 && tried is { Count: > 0 })
            {
                count = Collect(candidates, null, ignoreHealth: false);
            }

            if (count == 0 && PanicMode)
            {
                count = Collect(candidates, null, ignoreHealth: true);
            }

            return count switch
            {
                0 => null,
                1 => Backends[candidates[0]],
                _ => Backends[Policy.Pick(this, candidates[..count], input)],
            };
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>How long until some backend may take traffic again (for Retry-After).</summary>
    public TimeSpan RetryAfter()
    {
        var soonest = TimeSpan.MaxValue;
        foreach (var backend in Backends)
        {
            var wait = TimeSpan.Zero;
            if (backend.Breaker is { } breaker)
            {
                // Open: until half-open. Half-open with its probes busy: a moment.
                wait = breaker.State == Resilience.BreakerState.HalfOpen ? TimeSpan.FromSeconds(1) : breaker.RetryAfter;
            }

            var health = backend.Health.RetryAfter;
            wait = health > wait ? health : wait;
            if (wait < soonest)
            {
                soonest = wait;
            }
        }

        return soonest == TimeSpan.MaxValue || soonest <= TimeSpan.Zero ? TimeSpan.FromSeconds(1) : soonest;
    }

    /// <summary>Every backend is held back by its breaker (open, or half-open with its probes busy).</summary>
    public bool BreakersClosedTheWay()
    {
        foreach (var backend in Backends)
        {
            if (backend.Breaker is not { } breaker || breaker.CanAttempt())
            {
                return false;
            }
        }

        return true;
    }

    private int Collect(Span<int> candidates, List<Backend>? tried, bool ignoreHealth)
    {
        var count = 0;
        for (var i = 0; i < Backends.Length; i++)
        {
            var backend = Backends[i];
            var usable = ignoreHealth ? backend.Breaker?.CanAttempt() ?? true : backend.Available;
            if (usable && (tried is null || !tried.Contains(backend)))
            {
                candidates[count++] = i;
            }
        }

        return count;
    }
}
