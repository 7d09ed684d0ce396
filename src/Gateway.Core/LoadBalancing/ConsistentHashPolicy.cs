using Gateway.Authentication;

namespace Gateway.LoadBalancing;

/// <summary>
/// A hash ring over the backends (points in proportion to weight): a key (<c>hash_on</c>: a header, a cookie or the
/// client address) goes to the first available owner clockwise from its point, so a backend leaving or joining moves
/// only its share of keys. Requests without the key are spread round robin.
/// </summary>
internal sealed class ConsistentHashPolicy : ILoadBalancingPolicy
{
    private const int VirtualNodesPerWeight = 100;
    private const int MaxRingPoints = 100_000;

    private readonly string _hashOn;
    private readonly (ulong Hash, int Owner)[] _ring;
    private readonly RoundRobinPolicy _fallback = new();

    public ConsistentHashPolicy(string hashOn, IReadOnlyList<string> names, IReadOnlyList<int> weights)
    {
        _hashOn = hashOn;
        _ring = BuildRing(names, weights);
    }

    public int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input) =>
        Key(input) is { } key ? OnRing(StableHash.Of(key), candidates) : _fallback.Next(candidates);

    private string? Key(in BalancingInput input)
    {
        if (_hashOn == "ip")
        {
            return input.Client?.ToString();
        }

        if (_hashOn.StartsWith("header:", StringComparison.Ordinal))
        {
            var values = input.Headers[_hashOn[7..]];
            return values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
        }

        return Cookies.First(input.Headers.Cookie, _hashOn[7..]);
    }

    /// <summary>The first available owner clockwise from the key's point on the ring.</summary>
    private int OnRing(ulong hash, ReadOnlySpan<int> candidates)
    {
        var low = 0;
        var high = _ring.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (_ring[middle].Hash < hash)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        for (var step = 0; step < _ring.Length; step++)
        {
            var owner = _ring[(low + step) % _ring.Length].Owner;
            if (candidates.Contains(owner))
            {
                return owner;
            }
        }

        return candidates[0];
    }

    private static (ulong, int)[] BuildRing(IReadOnlyList<string> names, IReadOnlyList<int> weights)
    {
        // 100 points per weight unit, scaled down so the ring stays within 100,000 points (at least one each).
        var units = weights.Sum(w => (long)w);
        var perUnit = Math.Min(VirtualNodesPerWeight, MaxRingPoints / (double)units);
        var ring = new List<(ulong, int)>();
        for (var i = 0; i < names.Count; i++)
        {
            var points = Math.Max(1, (int)(weights[i] * perUnit));
            for (var v = 0; v < points; v++)
            {
                ring.Add((StableHash.Of($"{names[i]}#{v}"), i));
            }
        }

        ring.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        return [.. ring];
    }
}
