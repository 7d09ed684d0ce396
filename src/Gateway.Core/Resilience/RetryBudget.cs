namespace Gateway.Resilience;

/// <summary>
/// Limits retries to a share of requests over the last 10 seconds (with a floor of 10 retries per window),
/// so that during an outage retries add at most that much load instead of multiplying it.
/// </summary>
internal sealed class RetryBudget(double ratio, TimeProvider time)
{
    private const int MinimumRetries = 10;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private long _windowStart = time.GetTimestamp();
    private long _requests;
    private long _retries;
    private long _previousRequests;
    private long _previousRetries;

    public void RecordRequest()
    {
        lock (_gate)
        {
            Roll();
            _requests++;
        }
    }

    /// <summary>Whether a retry would be allowed now (without taking it).</summary>
    public bool HasRoom()
    {
        lock (_gate)
        {
            Roll();
            return _retries + _previousRetries < Math.Max(MinimumRetries, (_requests + _previousRequests) * ratio);
        }
    }

    public bool TryRetry()
    {
        lock (_gate)
        {
            Roll();
            var requests = _requests + _previousRequests;
            var retries = _retries + _previousRetries;
            if (retries >= Math.Max(MinimumRetries, requests * ratio))
            {
                return false;
            }

            _retries++;
            return true;
        }
    }

    private void Roll()
    {
        var elapsed = time.GetElapsedTime(_windowStart);
        if (elapsed < Window)
        {
            return;
        }

        var twoWindows = elapsed >= Window * 2;
        _previousRequests = twoWindows ? 0 : _requests;
        _previousRetries = twoWindows ? 0 : _retries;
        _requests = 0;
        _retries = 0;
        _windowStart = time.GetTimestamp();
    }
}
