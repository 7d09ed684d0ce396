using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Tls;

/// <summary>TLS for the public listener. Not supported by this build: a config with <c>tls</c> refuses to start rather than serve plain HTTP.</summary>
internal sealed class TlsFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => TlsValidator.Validate(config, diagnostics, baseDirectory);

    public override void ReportNotEnforced(GatewayConfig config, IReadOnlyList<string> routeIds, List<string> messages)
    {
        if (config.Tls is not null)
        {
            messages.Add("tls is not supported yet: the gateway refuses to start rather than serve plain HTTP");
        }
    }
}
