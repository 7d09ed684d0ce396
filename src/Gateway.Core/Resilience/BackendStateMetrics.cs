using System.Diagnostics.Metrics;
using Gateway.State;

namespace Gateway.Resilience;

/// <summary>
/// Gauges of every live backend: health (1/0), breaker state (0 closed, 1 open, 2 half-open) and requests in flight.
/// Read from the live-state registry whenever a collector asks, so they follow reloads.
/// </summary>
internal sealed class BackendStateMetrics : IDisposable
{
    private readonly Meter _meter = new("Gateway.Backends.State");

    public BackendStateMetrics(LiveState state)
    {
        _meter.CreateObservableGauge("gateway_backend_health", () => Measure(state, b => b.Health.IsAvailable ? 1 : 0), description: "1 when the backend takes traffic, 0 when health checks took it out.");
        _meter.CreateObservableGauge("gateway_circuit_breaker_state", () => Measure(state, b => (int)(b.Breaker?.State ?? BreakerState.Closed)), description: "0 closed, 1 open, 2 half-open.");
        _meter.CreateObservableGauge("gateway_backend_in_flight", () => Measure(state, b => b.InFlight), description: "Requests in flight to the backend.");
    }

    private static IEnumerable<Measurement<int>> Measure(LiveState state, Func<Forwarding.Backend, int> read)
    {
        foreach (var backend in state.Backends.Values)
        {
            yield return new Measurement<int>(read(backend), new KeyValuePair<string, object?>("backend", backend.Name));
        }
    }

    public void Dispose() => _meter.Dispose();
}
