using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Hosting;

/// <summary>Reloading the config file when it changes (<c>hot_reload</c>); SIGHUP and the admin API reload regardless.</summary>
internal sealed class HotReloadFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => HotReloadValidator.Validate(config, diagnostics);
}
