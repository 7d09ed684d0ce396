using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Tls;

/// <summary>TLS for the public listener. Not supported by this build: a config with <c>tls</c> refuses to start rather than serve plain HTTP.</summary>
internal sealed class TlsFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory)
    {
        TlsValidator.Validate(config, diagnostics, baseDirectory);
        if (config.Tls is not null)
        {
            // An error, not a warning: serving plain HTTP where TLS was asked for would fail open.
            diagnostics.Error("tls", "this version cannot serve TLS yet; remove the tls block or terminate TLS in front of the gateway");
        }
    }
}
