using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Tls;

/// <summary>TLS for the public listener: validated here, served by <see cref="ServerTls"/> (set up in Hosting).</summary>
internal sealed class TlsFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) =>
        TlsValidator.Validate(config, diagnostics, baseDirectory);
}
