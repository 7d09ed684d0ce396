using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Health;

/// <summary>Active and passive health checks of each route's backends (run by <see cref="HealthChecker"/>).</summary>
internal sealed class HealthCheckFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => HealthCheckValidator.Validate(config, diagnostics);
}
