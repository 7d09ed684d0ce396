using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Observability;

/// <summary>Observability keys (metrics and SLOs are the <see cref="Metrics.MetricsStage"/>'s). Tracing is not served by this build yet (trace context is still propagated).</summary>
internal sealed class ObservabilityFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => ObservabilityValidator.Validate(config, diagnostics);

    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("observability.tracing", "no spans are exported (traceparent is still propagated)", c => c.Observability?.Tracing is { Enabled: true }, null),
    ];
}
