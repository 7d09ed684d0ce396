using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Caching;

/// <summary>Response caching. Not enforced by this build: responses are not cached (every request reaches a backend).</summary>
internal sealed class CacheFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CacheValidator.Validate(config, diagnostics);

    public override void ReportNotEnforced(GatewayConfig config, IReadOnlyList<string> routeIds, List<string> messages)
    {
        if (config.Cache is { Enabled: true })
        {
            messages.Add("cache is not enforced yet: responses are not cached");
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Cache is { Enabled: true })
            {
                messages.Add($"cache on route {routeIds[i]} ({config.Routes[i].Path}) is not enforced yet");
            }
        }
    }
}
