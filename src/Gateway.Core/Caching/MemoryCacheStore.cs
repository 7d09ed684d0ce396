namespace Gateway.Caching;

/// <summary>
/// Responses kept in this process, bounded by count and by bytes: the least recently used go first when either bound
/// is reached, and expired ones go when they are found. One lock guards the table; every operation under it is a
/// dictionary lookup and a list move.
/// </summary>
internal sealed class MemoryCacheStore(int maxEntries, long maxBytes) : ResponseCacheStore(maxBytes)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, CachedResponse Response)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, CachedResponse Response)> _recency = new();
    private long _bytes;

    public override int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    public override ValueTask<CachedResponse?> GetAsync(string key, long now, CancellationToken cancel)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var node))
            {
                return new((CachedResponse?)null);
            }

            if (!node.Value.Response.IsFresh(now))
            {
                Remove(node);
                return new((CachedResponse?)null);
            }

            _recency.Remove(node);
            _recency.AddFirst(node);
            return new(node.Value.Response);
        }
    }

    public override ValueTask SetAsync(string key, CachedResponse response, long now)
    {
        var size = response.Size + 2 * key.Length;
        if (size > MaxBytes)
        {
            return ValueTask.CompletedTask;
        }

        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                Remove(existing);
            }

            while (_recency.Last is { } oldest && (_entries.Count >= maxEntries || _bytes + size > MaxBytes))
            {
                Remove(oldest);
            }

            var node = _recency.AddFirst((key, response));
            _entries[key] = node;
            _bytes += size;
        }

        return ValueTask.CompletedTask;
    }

    private void Remove(LinkedListNode<(string Key, CachedResponse Response)> node)
    {
        _recency.Remove(node);
        _entries.Remove(node.Value.Key);
        _bytes -= node.Value.Response.Size + 2 * node.Value.Key.Length;
    }
}
