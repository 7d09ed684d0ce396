namespace Gateway.LoadBalancing;

/// <summary>Two random candidates; the one with fewer requests in flight.</summary>
internal sealed class PowerOfTwoPolicy : ILoadBalancingPolicy
{
    public int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input)
    {
        var a = candidates[Random.Shared.Next(candidates.Length)];
        var b = candidates[Random.Shared.Next(candidates.Length - 1)];
        b = b == a ? candidates[^1] : b;
        return group.Backends[b].InFlight < group.Backends[a].InFlight ? b : a;
    }
}
