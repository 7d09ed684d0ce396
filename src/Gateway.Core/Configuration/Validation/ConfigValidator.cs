namespace Gateway.Configuration;

/// <summary>Runs every feature's validator; each appends its problems, none stops the others.</summary>
internal static class ConfigValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d, string baseDirectory)
    {
        foreach (var feature in Pipeline.GatewayFeatures.All)
        {
            feature.Validate(config, d, baseDirectory);
        }
    }
}
