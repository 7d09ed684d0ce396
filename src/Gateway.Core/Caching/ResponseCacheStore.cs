using System.Collections.Concurrent;

namespace Gateway.Caching;

/// <summary>
/// Where a cache keeps its responses (in this process, or in Redis shared by replicas), and the misses being filled
/// right now, so that concurrent identical misses make one backend call: the first becomes the fill, the others wait
/// for it and then read what it stored. Fills are always local to this process, and so are the copies of bodies on
/// their way in: together they never hold more than the cache's byte bound.
/// </summary>
internal abstract class ResponseCacheStore(long inFlightBudget)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _fills = new(StringComparer.Ordinal);
    private long _inFlight;

    /// <summary>The cache's byte bound: stored bodies (memory) and bodies on their way in each stay within it.</summary>
    protected long MaxBytes => inFlightBudget;

    /// <summary>Bytes held right now by copies of bodies not yet stored.</summary>
    public long InFlightBytes => Interlocked.Read(ref _inFlight);

    /// <summary>Takes room for part of a body being copied; false (and nothing taken) when copies in flight would pass the bound.</summary>
    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _inFlight, bytes) <= inFlightBudget)
        {
            return true;
        }

        Interlocked.Add(ref _inFlight, -bytes);
        return false;
    }

    public void Release(long bytes) => Interlocked.Add(ref _inFlight, -bytes);

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
