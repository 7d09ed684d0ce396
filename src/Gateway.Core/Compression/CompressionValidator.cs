using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Compression;

/// <summary>Compression blocks, globally and per route.</summary>
internal static class CompressionValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        ValidationRules.GlobalAndPerRoute(d, config, "compression", config.Compression, route => route.Compression, Compression);
        if (config.Compression is { MaxConcurrent: < 1 } global)
        {
            d.Error("compression.max_concurrent", $"must be 1 or more (responses compressed at once in the whole gateway), not {global.MaxConcurrent}");
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            var path = $"routes[{i}].compression";
            if (d.Map.Contains(path + ".max_concurrent"))
            {
                d.Error(path + ".max_concurrent", "is a bound for the whole gateway: set it in the global compression block");
            }
        }
    }

    /// <summary>Whole types that hold formats already compressed, which compressing again only costs CPU.</summary>
    private static readonly (string Type, string Examples)[] Precompressed =
    [
        ("application/*", "application/zip, application/gzip, application/zstd, application/x-7z-compressed, application/pdf, application/octet-stream"),
        ("image/*", "image/png, image/jpeg, image/gif, image/webp, image/avif"),
        ("audio/*", "audio/mpeg, audio/ogg, audio/aac"),
        ("video/*", "video/mp4, video/webm"),
        ("font/*", "font/woff, font/woff2"),
    ];

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
            else if (Array.Find(Precompressed, p => p.Type.Equals(type.Trim(), StringComparison.OrdinalIgnoreCase)) is { Type: not null } whole)
            {
                d.Warning($"{path}.types[{i}]", $"{whole.Type} includes formats that are already compressed ({whole.Examples}): compressing them again costs CPU for no gain; list the types that compress instead");
            }
        }

        if (compression.Enabled && compression.Types.Count == 0)
        {
            d.Warning(path + ".types", "is empty, so nothing is compressed; remove the key for the default types or set enabled: false");
        }
    }
}
