using System.Collections.Concurrent;

namespace Gateway.RateLimiting;

/// <summary>
/// Rate-limit state in this process. A decision for an existing client takes one dictionary look-up and one
/// uncontended lock, without allocating. The number of tracked clients is bounded: when full, idle entries are
/// dropped first, then arbitrary ones (their clients start afresh), so a flood of new addresses cannot exhaust memory.
/// </summary>
internal sealed class LocalRateLimitStore(LimitAlgorithm algorithm, int maxKeys, TimeProvider time)
{
    /// <summary>Most client keys tracked (the config's <c>max_keys</c>, which a reload may change).</summary>
    public int MaxKeys { get; set; } = maxKeys;

    private readonly ConcurrentDictionary<(int Limit, object Partition), Entry> _entries = new();
    private int _sweeping;

    public LimitAlgorithm Algorithm { get; } = algorithm;

    public int Count => _entries.Count;

    /// <summary>Where clients go while the table is full of active ones: they share one bucket per limit.</summary>
    private static readonly object Overflow = new();

    public LimitDecision Acquire(CompiledLimit limit, object partition)
    {
        var now = time.GetTimestamp();
        if (partition is string { Length: > MaxPartitionLength } text)
        {
            // Long client values (header dimension) are kept as a fixed-size digest, so bytes stay bounded too.
            partition = Digest(text);
        }

        if (!_entries.TryGetValue((limit.Id, partition), out var entry))
        {
            if (_entries.Count >= MaxKeys)
            {
                Sweep(now);
                if (_entries.Count >= MaxKeys)
                {
                    // Never evict a live counter (that would let a client start afresh on demand): newcomers share.
                    partition = Overflow;
                }
            }

            entry = _entries.GetOrAdd((limit.Id, partition), static (_, state) => new Entry(state.limit, state.now), (limit, now));
        }

        lock (entry)
        {
            entry.LastSeen = now;
            return Algorithm switch
            {
                LimitAlgorithm.TokenBucket => TokenBucket(entry, limit, now),
                LimitAlgorithm.FixedWindow => FixedWindow(entry, limit, now),
                _ => SlidingWindow(entry, limit, now),
            };
        }
    }

    private LimitDecision TokenBucket(Entry entry, CompiledLimit limit, long now)
    {
        var rate = limit.Requests / limit.Window.TotalSeconds;
        var elapsed = time.GetElapsedTime(entry.Stamp, now).TotalSeconds;
        entry.Tokens = Math.Min(limit.Burst, entry.Tokens + (elapsed * rate));
        entry.Stamp = now;
        if (entry.Tokens >= 1)
        {
            entry.Tokens -= 1;
            return new LimitDecision(true, limit.Burst, (long)entry.Tokens, TimeSpan.FromSeconds((limit.Burst - entry.Tokens) / rate));
        }

        return new LimitDecision(false, limit.Burst, 0, TimeSpan.FromSeconds((1 - entry.Tokens) / rate));
    }

    private LimitDecision FixedWindow(Entry entry, CompiledLimit limit, long now)
    {
        var elapsed = time.GetElapsedTime(entry.Stamp, now);
        if (elapsed >= limit.Window)
        {
            // Windows follow one another from the first request, so a window is never shorter than configured.
            var windows = (long)(elapsed.Ticks / limit.Window.Ticks);
            entry.Stamp += (long)(windows * limit.Window.TotalSeconds * time.TimestampFrequency);
            entry.Current = 0;
            elapsed = time.GetElapsedTime(entry.Stamp, now);
        }

        var reset = limit.Window - elapsed;
        if (entry.Current < limit.Requests)
        {
            entry.Current++;
            return new LimitDecision(true, limit.Requests, limit.Requests - (long)entry.Current, reset);
        }

        return new LimitDecision(false, limit.Requests, 0, reset);
    }

    /// <summary>
    /// Sliding window counter: the previous window's count weighted by how much of it still overlaps the
    /// sliding window, plus the current window's count.
    /// </summary>
    private LimitDecision SlidingWindow(Entry entry, CompiledLimit limit, long now)
    {
        var elapsed = time.GetElapsedTime(entry.Stamp, now);
        if (elapsed >= limit.Window)
        {
            var windows = (long)(elapsed.Ticks / limit.Window.Ticks);
            entry.Previous = windows == 1 ? entry.Current : 0;
            entry.Current = 0;
            entry.Stamp += (long)(windows * limit.Window.TotalSeconds * time.TimestampFrequency);
            elapsed = time.GetElapsedTime(entry.Stamp, now);
        }

        var overlap = 1 - (elapsed.TotalSeconds / limit.Window.TotalSeconds);
        var estimate = (entry.Previous * overlap) + entry.Current;
        var reset = limit.Window - elapsed;
        if (estimate + 1 <= limit.Requests + 1e-9)
        {
            entry.Current++;
            return new LimitDecision(true, limit.Requests, Math.Max(0, (long)(limit.Requests - estimate - 1)), reset);
        }

        return new LimitDecision(false, limit.Requests, 0, SlidingWait(entry, limit, elapsed, estimate));
    }

    /// <summary>
    /// The wait until one more request fits: while the current window runs, only the previous one slides out;
    /// after it, the current count becomes the previous one and slides out in turn.
    /// </summary>
    private static TimeSpan SlidingWait(Entry entry, CompiledLimit limit, TimeSpan elapsed, double estimate)
    {
        var window = limit.Window.TotalSeconds;
        var reset = window - elapsed.TotalSeconds;
        if (entry.Previous > 0)
        {
            var within = (estimate + 1 - limit.Requests) / entry.Previous * window;
            if (within <= reset)
            {
                return TimeSpan.FromSeconds(within);
            }
        }

        var after = entry.Current > 0 ? window * Math.Max(0, 1 - ((limit.Requests - 1) / entry.Current)) : 0;
        return TimeSpan.FromSeconds(reset + after);
    }

    private void Sweep(long now)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            // Only entries whose state no longer matters go: idle for two windows, or a token bucket full again.
            foreach (var (key, entry) in _entries)
            {
                if (key.Partition != Overflow && time.GetElapsedTime(entry.LastSeen, now) > entry.Window * 2)
                {
                    _entries.TryRemove(key, out _);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>Drops the counters of limits no live snapshot has any more.</summary>
    public void Forget(IReadOnlySet<int> limits)
    {
        foreach (var key in _entries.Keys)
        {
            if (limits.Contains(key.Limit))
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    private const int MaxPartitionLength = 64;

    private static string Digest(string text) =>
        "#" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..32];

    private sealed class Entry(CompiledLimit limit, long now)
    {
        public long Stamp = now;
        public long LastSeen = now;
        public double Tokens = limit.Burst;
        public double Current;
        public double Previous;

        public TimeSpan Window { get; } = limit.Window;
    }
}
