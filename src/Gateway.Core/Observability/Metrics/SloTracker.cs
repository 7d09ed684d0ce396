using System.Diagnostics.Metrics;

namespace Gateway.Observability.Metrics;

/// <summary>What identifies a route's SLO tracker: a reload that keeps the route and its objective keeps its history.</summary>
internal readonly record struct SloKey(string RouteId, double LatencyMs, double Target);

/// <summary>
/// One route's service level objective: a request is good when its status is not 5xx and it took at most
/// <c>latency_ms</c>. Good and total events are counted in 10-second slots over the last 6 hours, from which the
/// error-budget burn rate over 5 minutes, 1 hour and 6 hours is read: the share of bad events divided by the share the
/// objective allows (1 burns the budget exactly in the SLO period; 14.4 over 1 h is the usual fast-burn page).
/// </summary>
internal sealed class SloTracker
{
    private const long SlotSeconds = 10;
    private const int Slots = (int)(6 * 3600 / SlotSeconds);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly long[] _epochs = new long[Slots];
    private readonly long[] _total = new long[Slots];
    private readonly long[] _bad = new long[Slots];

    public SloTracker(SloKey key, TimeProvider time)
    {
        _time = time;
        RouteId = key.RouteId;
        Target = key.Target;
        LatencySeconds = key.LatencyMs / 1000;
        Array.Fill(_epochs, -1);
    }

    /// <summary>The windows the burn rate is exported for, with their label values.</summary>
    public static readonly (string Label, TimeSpan Window)[] Windows =
        [("5m", TimeSpan.FromMinutes(5)), ("1h", TimeSpan.FromHours(1)), ("6h", TimeSpan.FromHours(6))];

    public string RouteId { get; }

    public double Target { get; }

    public double LatencySeconds { get; }

    /// <summary>Whether a request with this status and duration meets the objective.</summary>
    public bool IsGood(int status, double seconds) => status < 500 && seconds <= LatencySeconds;

    public void Record(bool good)
    {
        var epoch = _time.GetUtcNow().ToUnixTimeSeconds() / SlotSeconds;
        var i = (int)(epoch % Slots);
        if (Volatile.Read(ref _epochs[i]) != epoch)
        {
            lock (_gate)
            {
                if (_epochs[i] != epoch)
                {
                    _total[i] = 0;
                    _bad[i] = 0;
                    Volatile.Write(ref _epochs[i], epoch);
                }
            }
        }

        Interlocked.Increment(ref _total[i]);
        if (!good)
        {
            Interlocked.Increment(ref _bad[i]);
        }
    }

    /// <summary>The error-budget burn rate over the last <paramref name="window"/> (0 while no request came).</summary>
    public double BurnRate(TimeSpan window)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds() / SlotSeconds;
        var slots = Math.Min(Slots, (long)(window.TotalSeconds / SlotSeconds));
        long total = 0, bad = 0;
        for (var epoch = now - slots + 1; epoch <= now; epoch++)
        {
            var i = (int)(epoch % Slots);
            if (Volatile.Read(ref _epochs[i]) == epoch)
            {
                total += Volatile.Read(ref _total[i]);
                bad += Volatile.Read(ref _bad[i]);
            }
        }

        return total == 0 ? 0 : bad / (double)total / (1 - Target);
    }

    /// <summary>The SLO instruments: good and total events (recorded per request) and the gauges read from every live tracker.</summary>
    internal sealed class Instruments
    {
        private readonly Counter<long> _events;
        private readonly Counter<long> _good;

        public Instruments(Meter meter, State.LiveState? state)
        {
            IReadOnlyList<SloTracker> trackers() => state?.Slos.Values ?? [];
            _events = meter.CreateCounter<long>("gateway_slo_events_total", description: "Requests on routes with an SLO, by route.");
            _good = meter.CreateCounter<long>("gateway_slo_good_events_total", description: "Requests that met the route's SLO (not 5xx, within latency_ms), by route.");
            meter.CreateObservableGauge("gateway_slo_error_budget_burn_rate", () => BurnRates(trackers()),
                description: "Error-budget burn rate over the window (5m, 1h, 6h), by route: bad share / (1 - target).");
            meter.CreateObservableGauge("gateway_slo_target", () => Targets(trackers()), description: "The route's SLO target (share of good requests).");
        }

        public void Record(SloTracker tracker, bool good, KeyValuePair<string, object?> route)
        {
            tracker.Record(good);
            _events.Add(1, route);
            if (good)
            {
                _good.Add(1, route);
            }
        }

        private static IEnumerable<Measurement<double>> BurnRates(IReadOnlyList<SloTracker> trackers)
        {
            foreach (var tracker in trackers)
            {
                foreach (var (label, window) in Windows)
                {
                    yield return new Measurement<double>(tracker.BurnRate(window), new("route", tracker.RouteId), new("window", label));
                }
            }
        }

        private static IEnumerable<Measurement<double>> Targets(IReadOnlyList<SloTracker> trackers)
        {
            foreach (var tracker in trackers)
            {
                yield return new Measurement<double>(tracker.Target, new KeyValuePair<string, object?>("route", tracker.RouteId));
            }
        }
    }
}
