using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Cors;

/// <summary>
/// Cross-origin resource sharing. Not enforced by this build; without its headers browsers refuse cross-origin reads,
/// so nothing is opened that was meant to stay closed.
/// </summary>
internal sealed class CorsFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CorsValidator.Validate(config, diagnostics);

    public override void ReportNotEnforced(GatewayConfig config, IReadOnlyList<string> routeIds, List<string> messages)
    {
        if (config.Cors is not null)
        {
            messages.Add("cors is not enforced yet: no CORS headers are added");
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Cors is not null)
            {
                messages.Add($"cors on route {routeIds[i]} ({config.Routes[i].Path}) is not enforced yet");
            }
        }
    }
}
