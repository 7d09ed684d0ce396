using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Hosting;

/// <summary>The listeners, limits, logging and admin settings.</summary>
internal sealed class ServerFeature : Feature
{
    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("admin.persist", "applied configs are not written back (the config API that applies them is not built yet)", c => c.Admin.Persist is not null, null),
    ];

    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory)
    {
        ServerValidator.Validate(config, diagnostics);
        if (config.Routes.Count == 0)
        {
            diagnostics.Warning("routes", "no routes are configured: every request will be answered 404");
        }
    }
}
