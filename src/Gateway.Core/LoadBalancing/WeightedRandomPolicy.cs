namespace Gateway.LoadBalancing;

/// <summary>A random candidate, each as likely as its weight.</summary>
internal sealed class WeightedRandomPolicy : ILoadBalancingPolicy
{
    public int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input)
    {
        long total = 0;
        foreach (var i in candidates)
        {
            total += group.Weights[i];
        }

        var roll = Random.Shared.NextInt64(total);
        foreach (var i in candidates)
        {
            roll -= group.Weights[i];
            if (roll < 0)
            {
                return i;
            }
        }

        return candidates[^1];
    }
}
