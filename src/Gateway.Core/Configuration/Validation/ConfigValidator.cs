namespace Gateway.Configuration;

using Gateway.Configuration.Validation;

/// <summary>Runs every concern's validator; each appends its problems, none stops the others.</summary>
internal static class ConfigValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d, string baseDirectory)
    {
        ServerValidator.Validate(config, d);
        RouteValidator.Validate(config, d);
        AuthValidator.Validate(config, d);
        PolicyValidator.Validate(config, d, baseDirectory);
        if (config.Routes.Count == 0)
        {
            d.Warning("routes", "no routes are configured: every request will be answered 404");
        }
    }
}
