using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Observability;

/// <summary>Metrics, traces and SLOs. Not served by this build yet (trace context is still propagated).</summary>
internal sealed class ObservabilityFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => ObservabilityValidator.Validate(config, diagnostics);

    public override void ReportNotEnforced(GatewayConfig config, IReadOnlyList<string> routeIds, List<string> messages)
    {
        if (config.Observability?.Metrics is { Enabled: true })
        {
            messages.Add("observability.metrics is not served yet");
        }

        if (config.Observability?.Tracing is { Enabled: true })
        {
            messages.Add("observability.tracing is not exported yet (traceparent is still propagated)");
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Slo is not null)
            {
                messages.Add($"slo on route {routeIds[i]} ({config.Routes[i].Path}) is not tracked yet");
            }
        }
    }
}
