namespace Gateway.RateLimiting;

/// <summary>
/// The in-memory rate-limit counters of the process, across config reloads. Every limit gets a number from what it
/// is (its scope, rule and algorithm): a reload that leaves a limit unchanged finds its counters as they were, a
/// changed rule gets a new number and starts afresh, and the counters of limits no snapshot has are dropped.
/// </summary>
internal sealed class RateLimitState(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly HashSet<string> _named = new(StringComparer.Ordinal);
    private readonly LocalRateLimitStore?[] _stores = new LocalRateLimitStore?[3];
    private int _next;

    /// <summary>The number of a limit (made on first use), marked as named by the snapshot being compiled.</summary>
    public int IdFor(string scope, LimitAlgorithm algorithm)
    {
        var key = scope + "|" + algorithm;
        lock (_gate)
        {
            _named.Add(key);
            if (!_ids.TryGetValue(key, out var id))
            {
                id = _next++;
                _ids[key] = id;
            }

            return id;
        }
    }

    /// <summary>The counters of one algorithm (one table per algorithm, so their bounds are separate).</summary>
    public LocalRateLimitStore Local(LimitAlgorithm algorithm, int maxKeys)
    {
        lock (_gate)
        {
            var store = _stores[(int)algorithm] ??= new LocalRateLimitStore(algorithm, maxKeys, time);
            store.MaxKeys = maxKeys;
            return store;
        }
    }

    public void Commit()
    {
        HashSet<int>? dropped = null;
        lock (_gate)
        {
            foreach (var (key, id) in _ids.ToList())
            {
                if (!_named.Contains(key))
                {
                    (dropped ??= []).Add(id);
                    _ids.Remove(key);
                }
            }

            _named.Clear();
        }

        if (dropped is not null)
        {
            foreach (var store in _stores)
            {
                store?.Forget(dropped);
            }
        }
    }

    public void Abandon()
    {
        lock (_gate)
        {
            _named.Clear();
        }
    }
}
