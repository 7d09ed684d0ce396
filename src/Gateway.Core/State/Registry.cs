namespace Gateway.State;

/// <summary>
/// Long-lived objects keyed by what identifies them (a backend by its URL and settings, a JWKS cache by its URL),
/// shared by every config snapshot that names them. Compiling a snapshot asks for what it needs (<see cref="GetOrAdd"/>);
/// once that snapshot is the live one, <see cref="Commit"/> retires whatever it no longer names. Only the reload
/// path touches a registry (one compile at a time); requests hold the objects themselves.
/// </summary>
internal sealed class Registry<TKey, TValue>(Action<TValue>? retire = null)
    where TKey : notnull
    where TValue : class
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, TValue> _live = [];
    private readonly HashSet<TKey> _named = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>The live object for a key, made on first use; marks it as named by the snapshot being compiled.</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create)
    {
        lock (_gate)
        {
            _named.Add(key);
            if (!_live.TryGetValue(key, out var value))
            {
                value = create(key);
                _live[key] = value;
            }

            return value;
        }
    }

    public IReadOnlyList<TValue> Values
    {
        get
        {
            lock (_gate)
            {
                return [.. _live.Values];
            }
        }
    }

    /// <summary>The snapshot compiled since the last commit is live: everything it did not name is retired.</summary>
    public void Commit()
    {
        List<TValue>? retired = null;
        lock (_gate)
        {
            foreach (var (key, value) in _live)
            {
                if (!_named.Contains(key))
                {
                    (retired ??= []).Add(value);
                }
            }

            if (retired is not null)
            {
                foreach (var key in _live.Keys.Where(k => !_named.Contains(k)).ToList())
                {
                    _live.Remove(key);
                }
            }

            _named.Clear();
        }

        if (retire is not null && retired is not null)
        {
            foreach (var value in retired)
            {
                retire(value);
            }
        }
    }

    /// <summary>The snapshot being compiled will not go live: forget what it named (the live set is unchanged).</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _named.Clear();
        }
    }

    /// <summary>Retires everything (shutdown).</summary>
    public void RetireAll()
    {
        lock (_gate)
        {
            _named.Clear();
        }

        Commit();
    }
}
