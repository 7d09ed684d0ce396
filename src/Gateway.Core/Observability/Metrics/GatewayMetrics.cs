using System.Diagnostics.Metrics;
using Gateway.State;

namespace Gateway.Observability.Metrics;

/// <summary>
/// Every instrument of the gateway, created once per process state from its <see cref="IMeterFactory"/> (so that
/// two gateways in one process, as in the tests, never mix their numbers), grouped by the feature that records them.
/// </summary>
internal sealed class GatewayMetrics
{
    /// <summary>The name of the gateway's meter.</summary>
    public const string MeterName = "Gateway";

    private long _lastReloadSuccess;

    public GatewayMetrics(IMeterFactory factory, LiveState? state)
    {
        var meter = factory.Create(MeterName);
        Requests = new RequestMetrics(meter);
        Auth = new Authentication.AuthMetrics(meter);
        RateLimits = new RateLimiting.RateLimitMetrics(meter);
        Backends = new Resilience.ResilienceMetrics(meter);
        Cache = new Caching.CacheMetrics(meter);
        Slo = new SloTracker.Instruments(meter, state);
        if (state is not null)
        {
            Resilience.BackendStateMetrics.Register(meter, state);
        }

        RouteConditionTimeouts = meter.CreateCounter<long>("gateway_route_condition_timeouts_total",
            description: "Header or query regex conditions that ran out of match time, by route.");
        Http1Refusals = meter.CreateCounter<long>("gateway_http1_refused_total",
            description: "Requests the HTTP/1.1 codec refused before any stage saw them, by status.");
        ConfigReloads = meter.CreateCounter<long>("gateway_config_reloads_total", description: "Config reloads, by result (success, failure).");
        // Both series exist from the start, so that increase() sees the first failed reload.
        ConfigReloads.Add(0, new KeyValuePair<string, object?>("result", "success"));
        ConfigReloads.Add(0, new KeyValuePair<string, object?>("result", "failure"));
        meter.CreateObservableGauge("gateway_config_last_reload_success_timestamp_seconds", () => Interlocked.Read(ref _lastReloadSuccess),
            unit: "s", description: "When the config was last loaded successfully (Unix time).");
    }

    public RequestMetrics Requests { get; }

    public Authentication.AuthMetrics Auth { get; }

    public RateLimiting.RateLimitMetrics RateLimits { get; }

    public Resilience.ResilienceMetrics Backends { get; }

    public Caching.CacheMetrics Cache { get; }

    public SloTracker.Instruments Slo { get; }

    public Counter<long> RouteConditionTimeouts { get; }

    public Counter<long> Http1Refusals { get; }

    public Counter<long> ConfigReloads { get; }

    /// <summary>A config was loaded and went live at this time.</summary>
    public void ConfigLoaded(DateTimeOffset at) => Interlocked.Exchange(ref _lastReloadSuccess, at.ToUnixTimeSeconds());
}
