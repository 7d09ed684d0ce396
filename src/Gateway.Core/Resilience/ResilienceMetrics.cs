using System.Diagnostics.Metrics;

namespace Gateway.Resilience;

/// <summary>Backend requests, errors, retries and breaker transitions (exported by the observability work).</summary>
internal static class ResilienceMetrics
{
    public static readonly Meter Meter = new("Gateway.Backends");

    private static readonly Counter<long> BackendRequests = Meter.CreateCounter<long>("gateway_backend_requests_total", description: "Requests sent to backends, by route, backend and status.");
    private static readonly Counter<long> BackendErrors = Meter.CreateCounter<long>("gateway_backend_errors_total", description: "Failed backend attempts, by backend and kind.");
    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("gateway_retries_total", description: "Retried attempts, by route.");
    private static readonly Counter<long> BreakerTransitions = Meter.CreateCounter<long>("gateway_circuit_breaker_transitions_total", description: "Circuit breaker state changes, by backend and new state.");

    /// <summary>Status codes as tag values, boxed once rather than on every request.</summary>
    private static readonly object[] Statuses = [.. Enumerable.Range(0, 600).Select(static status => (object)status)];

    public static void Request(string route, string backend, int status)
    {
        if (BackendRequests.Enabled)
        {
            BackendRequests.Add(1, new("route", route), new("backend", backend), new("status", (uint)status < Statuses.Length ? Statuses[status] : status));
        }
    }

    public static void Error(string backend, string kind) => BackendErrors.Add(1, new("backend", backend), new("kind", kind));

    public static void Retry(string route) => Retries.Add(1, new KeyValuePair<string, object?>("route", route));

    public static void Transition(string backend, BreakerState to) =>
        BreakerTransitions.Add(1, new("backend", backend), new("to", to switch
        {
            BreakerState.Open => "open",
            BreakerState.HalfOpen => "half_open",
            _ => "closed",
        }));
}
