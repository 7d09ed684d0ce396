using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Hosting;

/// <summary>Hot reload.</summary>
internal static class HotReloadValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        if (config.HotReload is { } reload)
        {
            ValidationRules.InRange(d, "hot_reload.debounce_ms", reload.DebounceMs, 0, 60_000);
        }
    }
}
