using System.Buffers;
using System.Net;
using Gateway.Forwarding;
using Microsoft.AspNetCore.Http;

namespace Gateway.LoadBalancing;

/// <summary>
/// The backends of one route and how one is chosen per request. Only available backends are candidates
/// (healthy, breaker not open), backends already tried for this request are avoided while others remain, and
/// with <c>panic_mode</c> unhealthy backends are used when no healthy one is left.
/// </summary>
internal sealed class BackendGroup
{
    private const int VirtualNodesPerWeight = 100;
    private const int MaxRingPoints = 100_000;
    private readonly Lock _weightedGate = new();
    private readonly long[] _currentWeights;
    private readonly (ulong Hash, int Owner)[] _ring;
    private int _next = -1;

    public BackendGroup(Backend[] backends, string strategy, string? hashOn, bool panicMode)
    {
        Backends = backends;
        Strategy = strategy;
        HashOn = hashOn;
        PanicMode = panicMode;
        _currentWeights = new long[backends.Length];
        _ring = strategy == "consistent_hash" ? BuildRing(backends) : [];
    }

    public Backend[] Backends { get; }

    public string Strategy { get; }

    public string? HashOn { get; }

    public bool PanicMode { get; }

    /// <summary>Picks a backend, or null when none can take the request (the caller answers 503).</summary>
    public Backend? Select(HttpContext context, IPAddress? client, List<Backend>? tried)
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

            return count == 0 ? null : Backends[Pick(candidates[..count], context, client)];
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

    private int Pick(ReadOnlySpan<int> candidates, HttpContext context, IPAddress? client)
    {
        if (candidates.Length == 1)
        {
            return candidates[0];
        }

        switch (Strategy)
        {
            case "weighted":
                return SmoothWeighted(candidates);
            case "least_connections":
                return LeastConnections(candidates);
            case "random":
                return WeightedRandom(candidates);
            case "power_of_two":
                var a = candidates[Random.Shared.Next(candidates.Length)];
                var b = candidates[Random.Shared.Next(candidates.Length - 1)];
                b = b == a ? candidates[^1] : b;
                return Backends[b].InFlight < Backends[a].InFlight ? b : a;
            case "ip_hash":
                return client is null ? RoundRobin(candidates) : candidates[(int)(Hash(client) % (ulong)candidates.Length)];
            case "consistent_hash":
                return HashKey(context, client) is { } key ? OnRing(Fnv(key), candidates) : RoundRobin(candidates);
            default:
                return RoundRobin(candidates);
        }
    }

    private int RoundRobin(ReadOnlySpan<int> candidates) =>
        candidates[(int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Length)];

    /// <summary>Smooth weighted round robin (as NGINX does): exact ratios, and no bursts to one backend.</summary>
    private int SmoothWeighted(ReadOnlySpan<int> candidates)
    {
        lock (_weightedGate)
        {
            long total = 0;
            var best = -1;
            foreach (var i in candidates)
            {
                _currentWeights[i] += Backends[i].Weight;
                total += Backends[i].Weight;
                if (best < 0 || _currentWeights[i] > _currentWeights[best])
                {
                    best = i;
                }
            }

            _currentWeights[best] -= total;
            return best;
        }
    }

    private int LeastConnections(ReadOnlySpan<int> candidates)
    {
        // Start at a rotating position so ties spread instead of always going to the first backend.
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Length);
        var best = candidates[start];
        for (var n = 1; n < candidates.Length; n++)
        {
            var i = candidates[(start + n) % candidates.Length];
            if (Backends[i].InFlight < Backends[best].InFlight)
            {
                best = i;
            }
        }

        return best;
    }

    private int WeightedRandom(ReadOnlySpan<int> candidates)
    {
        long total = 0;
        foreach (var i in candidates)
        {
            total += Backends[i].Weight;
        }

        var roll = Random.Shared.NextInt64(total);
        foreach (var i in candidates)
        {
            roll -= Backends[i].Weight;
            if (roll < 0)
            {
                return i;
            }
        }

        return candidates[^1];
    }

    private string? HashKey(HttpContext context, IPAddress? client)
    {
        var hashOn = HashOn ?? "ip";
        if (hashOn == "ip")
        {
            return client?.ToString();
        }

        if (hashOn.StartsWith("header:", StringComparison.Ordinal))
        {
            var values = context.Request.Headers[hashOn[7..]];
            return values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
        }

        return context.Request.Cookies.TryGetValue(hashOn[7..], out var cookie) && !string.IsNullOrEmpty(cookie) ? cookie : null;
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

    private static (ulong, int)[] BuildRing(Backend[] backends)
    {
        // 100 points per weight unit, scaled down so the ring stays within 100,000 points (at least one each).
        var units = backends.Sum(b => (long)b.Weight);
        var perUnit = Math.Min(VirtualNodesPerWeight, MaxRingPoints / (double)units);
        var ring = new List<(ulong, int)>();
        for (var i = 0; i < backends.Length; i++)
        {
            var points = Math.Max(1, (int)(backends[i].Weight * perUnit));
            for (var v = 0; v < points; v++)
            {
                ring.Add((Fnv($"{backends[i].Name}#{v}"), i));
            }
        }

        ring.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        return [.. ring];
    }

    private static ulong Hash(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        var hash = 14695981039346656037UL;
        foreach (var b in bytes[..written])
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return Mix(hash);
    }

    /// <summary>FNV-1a over the characters: stable across processes, so every replica maps keys alike.</summary>
    internal static ulong Fnv(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return Mix(hash);
    }

    /// <summary>FNV's low bits mix poorly for similar keys; a final avalanche spreads them evenly.</summary>
    private static ulong Mix(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        hash ^= hash >> 33;
        hash *= 0xc4ceb9fe1a85ec53UL;
        hash ^= hash >> 33;
        return hash;
    }
}
