namespace Gateway.LoadBalancing;

/// <summary>Smooth weighted round robin (as NGINX does): exact ratios, and no bursts to one backend.</summary>
internal sealed class SmoothWeightedPolicy(int size) : ILoadBalancingPolicy
{
    private readonly Lock _gate = new();
    private readonly long[] _current = new long[size];

    public int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input)
    {
        lock (_gate)
        {
            long total = 0;
            var best = -1;
            foreach (var i in candidates)
            {
                _current[i] += group.Weights[i];
                total += group.Weights[i];
                if (best < 0 || _current[i] > _current[best])
                {
                    best = i;
                }
            }

            _current[best] -= total;
            return best;
        }
    }
}
