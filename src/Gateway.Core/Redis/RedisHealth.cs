using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>What one failed Redis call says about the server.</summary>
internal enum RedisFailure
{
    /// <summary>No connection (refused, closed, never made): the server is unreachable, at once.</summary>
    Connection,

    /// <summary>No answer in time, or an error answer: evidence only when it repeats.</summary>
    Slow,
}

/// <summary>
/// Whether a Redis server can be relied on, as one user of it (the rate limiter, the API-key store) has found it; the
/// one set of rules every Redis user follows.
/// <list type="bullet">
/// <item>Start-up: <see cref="StartAsync"/> reaches the server (and warms what the first call needs) before the
/// gateway reports ready, retrying until it answers or the start-up wait has passed; calls made meanwhile wait for it
/// (<see cref="WhenStarted"/>), so the first requests are decided the same way as later ones. A start-up that gives up
/// marks the server unreachable. Without a wait (<c>startup_wait_secs: 0</c>, or a user made by a reload once the
/// gateway runs) the warm-up runs once in the background and holds nothing.</item>
/// <item>Failure detection: a call that could not reach the server (no connection: refused, closed) marks it
/// unreachable at once; a slow call (a timeout, an error answer) only counts. Slow calls mark it unreachable when they
/// have gone on without a success in between for <see cref="SlowOutage"/>, and at least
/// <see cref="SlowFailuresToDown"/> of them: a stall shorter than that (a fork for a snapshot, one slow command) is
/// not an outage, and a server that answers nothing for a second is one.</item>
/// <item>While unreachable, calls are skipped (<see cref="ShouldSkip"/>) except one probe every
/// <see cref="ProbeInterval"/>; the first success marks it reachable again. Each transition is reported once, in
/// order.</item>
/// </list>
/// </summary>
internal sealed class RedisHealth(TimeProvider time)
{
    /// <summary>Fewest slow calls in a row that mark the server unreachable.</summary>
    public const int SlowFailuresToDown = 3;

    /// <summary>How long slow calls must go on, without a success, to mark the server unreachable.</summary>
    public static readonly TimeSpan SlowOutage = TimeSpan.FromSeconds(1);

    /// <summary>While unreachable, one call this often tries the server again.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    /// <summary>The start-up wait when the config names none.</summary>
    public static readonly TimeSpan DefaultStartupWait = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StartupRetry = TimeSpan.FromMilliseconds(200);

    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _down;
    private int _slowInARow;
    private long _slowSince;
    private long _lastAttempt;
    private int _starting;

    /// <summary>Completes when start-up reached the server or gave up.</summary>
    public Task WhenStarted => _started.Task;

    public bool IsDown => Volatile.Read(ref _down) == 1;

    /// <summary>
    /// Reaches the server with <paramref name="warmUp"/> (retried until it succeeds or <paramref name="wait"/> has passed).
    /// Only the first call does anything; later ones return the same start-up.
    /// </summary>
    public Task StartAsync(Func<Task> warmUp, TimeSpan wait, Action<bool> onDone)
    {
        if (Interlocked.Exchange(ref _starting, 1) == 1)
        {
            return WhenStarted;
        }

        if (wait <= TimeSpan.Zero)
        {
            _started.TrySetResult();
            _ = WarmUpOnceAsync(warmUp);
            return WhenStarted;
        }

        _ = RunStartAsync(warmUp, wait, onDone);
        return WhenStarted;
    }

    private static async Task WarmUpOnceAsync(Func<Task> warmUp)
    {
        try
        {
            await warmUp().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Nothing waits for it: the first calls find out by the usual rules.
        }
    }

    private async Task RunStartAsync(Func<Task> warmUp, TimeSpan wait, Action<bool> onDone)
    {
        var started = time.GetTimestamp();
        var reached = false;
        while (true)
        {
            try
            {
                await warmUp().WaitAsync(Remaining(started, wait), time).ConfigureAwait(false);
                reached = true;
                break;
            }
            catch (Exception)
            {
                // Whatever stopped it (no connection, a timeout, an error answer), start-up tries again until the wait is over.
                if (Remaining(started, wait) <= StartupRetry)
                {
                    break;
                }

                await Task.Delay(StartupRetry, time).ConfigureAwait(false);
            }
        }

        try
        {
            if (!reached)
            {
                Interlocked.Exchange(ref _lastAttempt, time.GetTimestamp());
                Volatile.Write(ref _down, 1);
            }

            onDone(reached);
        }
        finally
        {
            // Whatever reporting does, nothing waits on start-up past this point.
            _started.TrySetResult();
        }
    }

    private TimeSpan Remaining(long started, TimeSpan wait)
    {
        var left = wait - time.GetElapsedTime(started);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>The server is unreachable and this call should not wait on it (false for the one call that probes).</summary>
    public bool ShouldSkip()
    {
        if (Volatile.Read(ref _down) == 0)
        {
            return false;
        }

        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastAttempt);
        if (time.GetElapsedTime(last, now) < ProbeInterval)
        {
            return true;
        }

        return Interlocked.CompareExchange(ref _lastAttempt, now, last) != last;
    }

    /// <summary>Records a success; <paramref name="onUp"/> runs when this one made the server reachable again.</summary>
    public void Succeeded<TState>(TState state, Action<TState> onUp)
    {
        if (Volatile.Read(ref _slowInARow) != 0)
        {
            lock (_gate)
            {
                _slowInARow = 0;
            }
        }

        if (Volatile.Read(ref _down) == 0)
        {
            return;
        }

        // Transitions are decided and reported under one lock, so the log's last line is the current state.
        lock (_gate)
        {
            if (_down == 0)
            {
                return;
            }

            Volatile.Write(ref _down, 0);
            onUp(state);
        }
    }

    /// <summary>
    /// Records a failure; <paramref name="onDown"/> runs when this one made the server unreachable. Returns whether the
    /// server now counts as unreachable.
    /// </summary>
    public bool Failed<TState>(RedisFailure failure, TState state, Action<TState> onDown)
    {
        var now = time.GetTimestamp();
        Interlocked.Exchange(ref _lastAttempt, now);
        lock (_gate)
        {
            if (_down == 1)
            {
                return true;
            }

            if (failure == RedisFailure.Slow)
            {
                if (_slowInARow++ == 0)
                {
                    _slowSince = now;
                }

                if (_slowInARow < SlowFailuresToDown || time.GetElapsedTime(_slowSince, now) < SlowOutage)
                {
                    return false;
                }
            }

            _slowInARow = 0;
            Volatile.Write(ref _down, 1);
            onDown(state);
            return true;
        }
    }

    /// <summary>
    /// What a failed call says. Anything the client throws that is not a timeout or an error answer (a connection torn
    /// down under a read, for one) counts as no connection: a call that cannot decide is never an error of the request.
    /// </summary>
    public static RedisFailure Classify(Exception e) => e switch
    {
        RedisConnectionException or ObjectDisposedException => RedisFailure.Connection,
        TimeoutException or RedisException => RedisFailure.Slow,
        _ => RedisFailure.Connection,
    };
}
