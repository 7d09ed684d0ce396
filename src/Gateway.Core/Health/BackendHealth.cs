using Gateway.Configuration;

namespace Gateway.Health;

/// <summary>
/// A backend's health: active checks (consecutive results against the thresholds) and passive ejection
/// (consecutive failures of real traffic take it out for <c>ejection_secs</c>). Starts healthy.
/// </summary>
internal sealed class BackendHealth(HealthCheckConfig? config, TimeProvider time, Action<bool>? changed = null)
{
    private readonly Lock _gate = new();
    private bool _activeHealthy = true;
    private int _activeFailures;
    private int _activeSuccesses;
    private int _passiveFailures;
    private long _ejectedAt;
    private bool _ejected;

    public HealthCheckConfig? Config { get; } = config;

    public bool ActiveHealthy
    {
        get
        {
            lock (_gate)
            {
                return _activeHealthy;
            }
        }
    }

    public bool IsAvailable
    {
        get
        {
            lock (_gate)
            {
                return _activeHealthy && !EjectedLocked();
            }
        }
    }

    /// <summary>At least how long until the backend may be healthy again (zero when it is).</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            lock (_gate)
            {
                var wait = TimeSpan.Zero;
                if (EjectedLocked())
                {
                    wait = TimeSpan.FromSeconds(Config!.EjectionSecs) - time.GetElapsedTime(_ejectedAt);
                }

                if (!_activeHealthy)
                {
                    var active = TimeSpan.FromSeconds(Config!.IntervalSecs * Math.Max(1, Config.HealthyThreshold - _activeSuccesses));
                    wait = active > wait ? active : wait;
                }

                return wait;
            }
        }
    }

    public void RecordActive(bool success)
    {
        if (Config is null)
        {
            return;
        }

        lock (_gate)
        {
            var before = _activeHealthy && !EjectedLocked();
            if (success)
            {
                _activeFailures = 0;
                if (!_activeHealthy && ++_activeSuccesses >= Config.HealthyThreshold)
                {
                    _activeHealthy = true;
                    _activeSuccesses = 0;
                }
            }
            else
            {
                _activeSuccesses = 0;
                if (_activeHealthy && ++_activeFailures >= Config.UnhealthyThreshold)
                {
                    _activeHealthy = false;
                    _activeFailures = 0;
                }
            }

            Notify(before);
        }
    }

    public void RecordPassive(bool success)
    {
        if (Config is not { PassiveEnabled: true })
        {
            return;
        }

        lock (_gate)
        {
            var before = _activeHealthy && !EjectedLocked();
            if (success)
            {
                _passiveFailures = 0;
                return;
            }

            if (!_ejected && ++_passiveFailures >= Config.UnhealthyThreshold)
            {
                _ejected = true;
                _ejectedAt = time.GetTimestamp();
                _passiveFailures = 0;
            }

            Notify(before);
        }
    }

    private bool EjectedLocked()
    {
        if (_ejected && time.GetElapsedTime(_ejectedAt) >= TimeSpan.FromSeconds(Config!.EjectionSecs))
        {
            _ejected = false;
        }

        return _ejected;
    }

    private void Notify(bool before)
    {
        var after = _activeHealthy && !EjectedLocked();
        if (before != after)
        {
            changed?.Invoke(after);
        }
    }
}
