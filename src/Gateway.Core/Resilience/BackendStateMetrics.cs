using System.Diagnostics.Metrics;
using Gateway.Configuration;

namespace Gateway.Resilience;

/// <summary>
/// Gauges of every backend of the current config: health (1/0), breaker state (0 closed, 1 open, 2 half-open)
/// and requests in flight. Read from the live snapshot whenever a collector asks.
/// </summary>
internal sealed class BackendStateMetrics : IDisposable
{
    private readonly Meter _meter = new("Gateway.Backends.State");

    public BackendStateMetrics(ConfigStore store)
    {
        _meter.CreateObservableGauge("gateway_backend_health", () => Measure(store, b => b.Health.IsAvailable ? 1 : 0), description: "1 when the backend takes traffic, 0 when health checks took it out.");
        _meter.CreateObservableGauge("gateway_circuit_breaker_state", () => Measure(store, b => (int)(b.Breaker?.State ?? BreakerState.Closed)), description: "0 closed, 1 open, 2 half-open.");
        _meter.CreateObservableGauge("gateway_backend_in_flight", () => Measure(store, b => b.InFlight), description: "Requests in flight to the backend.");
    }

    private static IEnumerable<Measurement<int>> Measure(ConfigStore store, Func<Forwarding.Backend, int> read)
    {
        foreach (var route in store.Current.Routes)
        {
            if (route.Backends is not { } group)
            {
                continue;
            }

            foreach (var backend in group.Backends)
            {
                yield return new Measurement<int>(read(backend), new KeyValuePair<string, object?>("route", route.Id), new KeyValuePair<string, object?>("backend", backend.Name));
            }
        }
    }

    public void Dispose() => _meter.Dispose();
}
