using System.Diagnostics.Metrics;
using System.Net;

namespace Gateway.Tests.Resilience;

public sealed class BackendStateMetricsTests
{
    [Fact]
    public async Task Breaker_state_and_health_are_observable()
    {
        await using var failing = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            circuit_breaker: {failure_threshold: 2, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}
            routes:
              - {id: api, path: /api, backend: "{{{failing.Url}}}"}
            """);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, (await gateway.Client.GetAsync("/api")).StatusCode);
        }

        var seen = new Dictionary<string, int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == gateway.Host.State.Meters && instrument.Name.StartsWith("gateway_", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "backend" && (string?)tag.Value == "http://127.0.0.1:" + failing.Port)
                {
                    seen[instrument.Name] = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.Equal(1, seen["gateway_circuit_breaker_state"]);
        Assert.Equal(1, seen["gateway_backend_health"]);
        Assert.Equal(0, seen["gateway_backend_in_flight"]);
    }
}
