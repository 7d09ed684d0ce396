namespace Gateway.LoadBalancing;

/// <summary>Each candidate in turn.</summary>
internal sealed class RoundRobinPolicy : ILoadBalancingPolicy
{
    private int _next = -1;

    public int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input) => Next(candidates);

    public int Next(ReadOnlySpan<int> candidates) =>
        candidates[(int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Length)];
}
