using System.Diagnostics.Metrics;
using Gateway.Observability.Metrics;

namespace Gateway.Resilience;

/// <summary>Backend attempts (count and duration), errors, retries and breaker transitions.</summary>
internal sealed class ResilienceMetrics(Meter meter)
{
    private readonly Counter<long> _backendRequests = meter.CreateCounter<long>("gateway_backend_requests_total", description: "Attempts sent to backends, by route, backend and status.");
    private readonly Histogram<double> _backendDuration = meter.CreateHistogram("gateway_backend_duration_seconds", unit: "s",
        description: "Time from sending an attempt to the backend's response head, by backend.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricBuckets.Seconds });
    private readonly Counter<long> _backendErrors = meter.CreateCounter<long>("gateway_backend_errors_total", description: "Failed backend attempts, by backend and kind.");
    private readonly Counter<long> _retries = meter.CreateCounter<long>("gateway_retries_total", description: "Retried attempts, by route.");
    private readonly Counter<long> _breakerTransitions = meter.CreateCounter<long>("gateway_circuit_breaker_transitions_total", description: "Circuit breaker state changes, by backend and new state.");

    /// <summary>One attempt's outcome: its status (0 when no answer came) and how long the backend took.</summary>
    public void Attempt(string route, string backend, int status, double seconds)
    {
        if (_backendRequests.Enabled)
        {
            _backendRequests.Add(1, new("route", route), new("backend", backend), new("status", StatusTags.Of(status)));
        }

        _backendDuration.Record(seconds, new KeyValuePair<string, object?>("backend", backend));
    }

    public void Error(string backend, string kind) => _backendErrors.Add(1, new("backend", backend), new("kind", kind));

    public void Retry(string route) => _retries.Add(1, new KeyValuePair<string, object?>("route", route));

    public void Transition(string backend, BreakerState to) =>
        _breakerTransitions.Add(1, new("backend", backend), new("to", to switch
        {
            BreakerState.Open => "open",
            BreakerState.HalfOpen => "half_open",
            _ => "closed",
        }));
}
