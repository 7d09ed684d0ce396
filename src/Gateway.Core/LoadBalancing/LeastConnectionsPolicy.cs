namespace Gateway.LoadBalancing;

/// <summary>The candidate with the fewest requests in flight.</summary>
internal sealed class LeastConnectionsPolicy : ILoadBalancingPolicy
{
    private int _next = -1;

    public int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input)
    {
        // Start at a rotating position so ties spread instead of always going to the first backend.
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Length);
        var best = candidates[start];
        for (var n = 1; n < candidates.Length; n++)
        {
            var i = candidates[(start + n) % candidates.Length];
            if (group.Backends[i].InFlight < group.Backends[best].InFlight)
            {
                best = i;
            }
        }

        return best;
    }
}
