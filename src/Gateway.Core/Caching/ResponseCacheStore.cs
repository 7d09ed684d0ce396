using System.Collections.Concurrent;

namespace Gateway.Caching;

/// <summary>
/// Where a cache keeps its responses (in this process, or in Redis shared by replicas), and the misses being filled
/// right now, so that concurrent identical misses make one backend call: the first becomes the fill, the others wait
/// for it and then read what it stored. Fills are always local to this process.
/// </summary>
internal abstract class ResponseCacheStore
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _fills = new(StringComparer.Ordinal);

    /// <summary>A fresh response stored under the key, or null.</summary>
    public abstract ValueTask<CachedResponse?> GetAsync(string key, long now, CancellationToken cancel);

    public abstract ValueTask SetAsync(string key, CachedResponse response, long now);

    /// <summary>Responses kept (memory) or -1 when the store cannot tell (Redis).</summary>
    public abstract int Count { get; }

    /// <summary>
    /// Takes the fill of a miss: true when this request is the one to ask the backend (it must call <see cref="EndFill"/>
    /// once done, whatever happened); false with the fill under way to wait for.
    /// </summary>
    public bool TryStartFill(string key, out Task pending)
    {
        var fill = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var current = _fills.GetOrAdd(key, fill);
        pending = current.Task;
        return ReferenceEquals(current, fill);
    }

    /// <summary>The fill of a key is over (stored or not): whoever waits on it looks again.</summary>
    public void EndFill(string key)
    {
        if (_fills.TryRemove(key, out var fill))
        {
            fill.TrySetResult();
        }
    }
}
