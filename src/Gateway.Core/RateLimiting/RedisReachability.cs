namespace Gateway.RateLimiting;

/// <summary>
/// Whether the Redis limiter is reachable, as the last calls found it. After a failure, requests skip Redis for
/// <see cref="RetryAfter"/> (one of them then probes it again), so an outage does not cost every request its
/// timeout. Each change between reachable and unreachable is reported once, in order.
/// </summary>
internal sealed class RedisReachability
{
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private int _down;
    private long _lastAttempt;

    /// <summary>Redis failed a moment ago and this request should not wait on it (false for the one request that probes).</summary>
    public bool RecentlyDown(TimeProvider time)
    {
        if (Volatile.Read(ref _down) == 0)
        {
            return false;
        }

        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastAttempt);
        if (time.GetElapsedTime(last, now) < RetryAfter)
        {
            return true;
        }

        return Interlocked.CompareExchange(ref _lastAttempt, now, last) != last;
    }

    /// <summary>Records a failure; true when this one turned Redis from reachable to unreachable.</summary>
    public bool MarkDown<TState>(TimeProvider time, TState state, Action<TState> onChange)
    {
        Interlocked.Exchange(ref _lastAttempt, time.GetTimestamp());
        lock (_gate)
        {
            if (_down == 1)
            {
                return false;
            }

            Volatile.Write(ref _down, 1);
            onChange(state);
            return true;
        }
    }

    /// <summary>Records a success; true when this one turned Redis reachable again.</summary>
    public bool MarkUp<TState>(TState state, Action<TState> onChange)
    {
        if (Volatile.Read(ref _down) == 0)
        {
            return false;
        }

        // Transitions are decided and reported under one lock, so the log's last line is the current state.
        lock (_gate)
        {
            if (_down == 0)
            {
                return false;
            }

            Volatile.Write(ref _down, 0);
            onChange(state);
            return true;
        }
    }
}
