using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Compression;

/// <summary>Compression blocks, globally and per route.</summary>
internal static class CompressionValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d) =>
        ValidationRules.GlobalAndPerRoute(d, config, "compression", config.Compression, route => route.Compression, Compression);

    private static void Compression(ConfigDiagnostics d, string path, CompressionConfig compression)
    {
        if (compression.MinBytes < 0)
        {
            d.Error(path + ".min_bytes", $"must be 0 or more (bytes; 0 compresses bodies of any known length), not {compression.MinBytes}");
        }

        for (var i = 0; i < compression.Types.Count; i++)
        {
            var type = compression.Types[i];
            if (!MediaTypeSet.IsPattern(type.Trim()))
            {
                d.Error($"{path}.types[{i}]", $"'{type}' must be a media type like application/json, a whole type like text/*, or a suffix like */*+json (no parameters)");
            }
            else if (type.Trim().StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                d.Warning($"{path}.types[{i}]", "text/event-stream is never compressed: its events must reach the client one by one");
            }
        }

        if (compression.Enabled && compression.Types.Count == 0)
        {
            d.Warning(path + ".types", "is empty, so nothing is compressed; remove the key for the default types or set enabled: false");
        }
    }
}
