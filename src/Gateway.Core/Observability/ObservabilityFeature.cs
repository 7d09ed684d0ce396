using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Observability;

/// <summary>Metrics and SLOs (not served by this build yet). Traces are <see cref="TracingStage"/>'s.</summary>
internal sealed class ObservabilityFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => ObservabilityValidator.Validate(config, diagnostics);

    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("observability.metrics", "no metrics are served", c => c.Observability?.Metrics is { Enabled: true }, null),
        new("slo", "the route's error budget is not tracked", null, r => r.Slo is not null),
    ];
}
