using System.Diagnostics.Metrics;
using Gateway.State;

namespace Gateway.Resilience;

/// <summary>
/// Gauges of every live backend: health (1/0), breaker state (0 closed, 1 open, 2 half-open) and requests in flight.
/// Read from the live-state registry whenever a collector asks, so they follow reloads.
/// </summary>
internal static class BackendStateMetrics
{
    public static void Register(Meter meter, LiveState state)
    {
        meter.CreateObservableGauge("gateway_backend_health", () => Measure(state, b => b.Health.IsAvailable ? 1 : 0), description: "1 when the backend takes traffic, 0 when health checks took it out.");
        // The earlier gateway's name for the same gauge, which its example configs and dashboards query.
        meter.CreateObservableGauge("gateway_backend_healthy", () => Measure(state, b => b.Health.IsAvailable ? 1 : 0), description: "Same as gateway_backend_health (the earlier gateway's name).");
        meter.CreateObservableGauge("gateway_circuit_breaker_state", () => Measure(state, b => (int)(b.Breaker?.State ?? BreakerState.Closed)), description: "0 closed, 1 open, 2 half-open.");
        meter.CreateObservableGauge("gateway_backend_in_flight", () => Measure(state, b => b.InFlight), description: "Requests in flight to the backend.");
    }

    private static IEnumerable<Measurement<int>> Measure(LiveState state, Func<Forwarding.Backend, int> read)
    {
        foreach (var backend in state.Backends.Values)
        {
            // The route tells apart two routes' backends on one URL (each has its own breaker and health).
            yield return new Measurement<int>(read(backend), new("route", backend.Route), new("backend", backend.Name));
        }
    }
}
