using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Resilience;

/// <summary>Circuit breakers and retries (applied by the forward stage around every upstream attempt).</summary>
internal sealed class ResilienceFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => ResilienceValidator.Validate(config, diagnostics);
}
