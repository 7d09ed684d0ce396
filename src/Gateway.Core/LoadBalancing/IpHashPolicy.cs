namespace Gateway.LoadBalancing;

/// <summary>The same client to the same candidate; round robin when the client is unknown.</summary>
internal sealed class IpHashPolicy : ILoadBalancingPolicy
{
    private readonly RoundRobinPolicy _fallback = new();

    public int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input) =>
        input.Client is { } client ? candidates[(int)(StableHash.Of(client) % (ulong)candidates.Length)] : _fallback.Next(candidates);
}
