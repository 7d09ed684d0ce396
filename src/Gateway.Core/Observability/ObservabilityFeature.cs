using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Observability;

/// <summary>The observability keys: metrics and SLOs are the <see cref="Metrics.MetricsStage"/>'s, traces the <see cref="TracingStage"/>'s.</summary>
internal sealed class ObservabilityFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => ObservabilityValidator.Validate(config, diagnostics);
}
