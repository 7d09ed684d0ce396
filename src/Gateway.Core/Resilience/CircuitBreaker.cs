using Gateway.Configuration;

namespace Gateway.Resilience;

internal enum BreakerState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

/// <summary>
/// A backend's circuit breaker. <c>failure_threshold</c> consecutive failures (5xx, timeouts, connection errors)
/// open it; while open, requests are not sent; after <c>timeout_secs</c> it lets <c>half_open_requests</c> probes
/// through at a time; <c>success_threshold</c> successful probes close it, one failed probe opens it again.
/// </summary>
internal sealed class CircuitBreaker(CircuitBreakerConfig config, TimeProvider time, Action<BreakerState>? transitioned = null)
{
    private readonly Lock _gate = new();
    private readonly TimeSpan _openFor = TimeSpan.FromSeconds(config.TimeoutSecs);
    private BreakerState _state = BreakerState.Closed;
    private int _failures;
    private int _successes;
    private int _probes;
    private long _openedAt;

    public CircuitBreakerConfig Config { get; } = config;

    /// <summary>The state as requests see it (an open breaker whose time is up reads as half-open).</summary>
    public BreakerState State
    {
        get
        {
            lock (_gate)
            {
                return _state == BreakerState.Open && time.GetElapsedTime(_openedAt) >= _openFor ? BreakerState.HalfOpen : _state;
            }
        }
    }

    /// <summary>How long until an open breaker lets probes through.</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            lock (_gate)
            {
                return _state == BreakerState.Open ? _openFor - time.GetElapsedTime(_openedAt) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>Whether a request may be sent now, without taking a probe slot (for choosing a backend).</summary>
    public bool CanAttempt()
    {
        lock (_gate)
        {
            return _state switch
            {
                BreakerState.Closed => true,
                BreakerState.Open => time.GetElapsedTime(_openedAt) >= _openFor,
                _ => _probes < Config.HalfOpenRequests,
            };
        }
    }

    /// <summary>Takes permission to send one request; <paramref name="probe"/> tells whether it is a half-open probe.</summary>
    public bool TryAcquire(out bool probe)
    {
        probe = false;
        lock (_gate)
        {
            if (_state == BreakerState.Open)
            {
                if (time.GetElapsedTime(_openedAt) < _openFor)
                {
                    return false;
                }

                Move(BreakerState.HalfOpen);
            }

            if (_state == BreakerState.Closed)
            {
                return true;
            }

            if (_probes >= Config.HalfOpenRequests)
            {
                return false;
            }

            _probes++;
            probe = true;
            return true;
        }
    }

    /// <summary>Gives back a probe slot without an outcome (the client went away: says nothing of the backend).</summary>
    public void Abandon(bool probe)
    {
        if (!probe)
        {
            return;
        }

        lock (_gate)
        {
            _probes = Math.Max(0, _probes - 1);
        }
    }

    public void Record(bool success, bool probe)
    {
        lock (_gate)
        {
            if (probe)
            {
                _probes = Math.Max(0, _probes - 1);
            }

            switch (_state)
            {
                case BreakerState.Closed:
                    _failures = success ? 0 : _failures + 1;
                    if (_failures >= Config.FailureThreshold)
                    {
                        Open();
                    }

                    break;
                case BreakerState.HalfOpen when probe:
                    if (!success)
                    {
                        Open();
                    }
                    else if (++_successes >= Config.SuccessThreshold)
                    {
                        Move(BreakerState.Closed);
                    }

                    break;
            }
        }
    }

    private void Open()
    {
        _openedAt = time.GetTimestamp();
        Move(BreakerState.Open);
    }

    private void Move(BreakerState next)
    {
        if (_state == next)
        {
            return;
        }

        _state = next;
        _failures = 0;
        _successes = 0;
        if (next != BreakerState.HalfOpen)
        {
            _probes = 0;
        }

        transitioned?.Invoke(next);
    }
}
