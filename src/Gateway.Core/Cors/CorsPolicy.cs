using System.Collections.Frozen;
using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Cors;

/// <summary>A CORS block, compiled: which origins, methods and headers a browser may use, and what it may read.</summary>
internal sealed class CorsPolicy
{
    /// <summary>The methods a browser may use without a listed method (the CORS-safelisted ones).</summary>
    private static readonly string[] SafelistedMethods = ["GET", "HEAD", "POST"];

    private readonly FrozenSet<string> _origins;
    private readonly FrozenSet<string> _methods;
    private readonly FrozenSet<string> _headers;

    public CorsPolicy(CorsConfig config, bool global)
    {
        Global = global;
        AnyOrigin = config.AllowedOrigins.Contains("*");
        _origins = config.AllowedOrigins.Where(o => o != "*").Select(Normalize).ToFrozenSet(StringComparer.Ordinal);
        AnyMethod = config.AllowedMethods.Contains("*");
        _methods = (config.AllowedMethods.Count == 0 ? SafelistedMethods : [.. config.AllowedMethods.Where(m => m != "*")])
            .Select(m => m.ToUpperInvariant()).ToFrozenSet(StringComparer.Ordinal);
        AnyHeader = config.AllowedHeaders.Contains("*");
        _headers = config.AllowedHeaders.Where(h => h != "*").ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        ExposedHeaders = config.ExposedHeaders.Count == 0 ? null : string.Join(", ", config.ExposedHeaders);
        AllowCredentials = config.AllowCredentials;
        MaxAge = config.MaxAgeSecs?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Methods = AnyMethod ? null : string.Join(", ", _methods.Order(StringComparer.Ordinal));
    }

    public bool Global { get; }

    public bool AnyOrigin { get; }

    public bool AnyMethod { get; }

    public bool AnyHeader { get; }

    public bool AllowCredentials { get; }

    public string? ExposedHeaders { get; }

    public string? MaxAge { get; }

    /// <summary>The allowed methods as a preflight answer lists them (null: any, the asked one is echoed).</summary>
    public string? Methods { get; }

    /// <summary>
    /// Exact match on the serialized origin (scheme, host, port): no prefixes, suffixes or patterns. <c>null</c> (sandboxed
    /// documents, file: pages, some redirects) passes only when listed, never through the wildcard.
    /// </summary>
    public bool Allows(string origin)
    {
        if (origin == "null")
        {
            return _origins.Contains("null");
        }

        // Only what a browser sends: scheme://host[:port], as it serializes it. Anything else (a path, user info, a
        // default port, spaces) is no origin, whatever it resembles.
        // Browsers send origins serialized already: most lookups hit at once, without parsing.
        if (_origins.Contains(origin))
        {
            return true;
        }

        var normalized = Normalize(origin);
        return normalized.Equals(origin, StringComparison.OrdinalIgnoreCase) && normalized.Contains("://", StringComparison.Ordinal)
            && (AnyOrigin || _origins.Contains(normalized));
    }

    public bool AllowsMethod(string method) => AnyMethod || _methods.Contains(method);

    /// <summary>Whether every header a preflight asks for (<c>Access-Control-Request-Headers</c>) is allowed.</summary>
    public bool AllowsHeaders(ReadOnlySpan<char> requested)
    {
        foreach (var range in requested.Split(','))
        {
            var name = requested[range].Trim(" \t");
            if (name.IsEmpty)
            {
                continue;
            }

            if (name.Length > 256 || !ValidationRules.IsToken(name) || !(AnyHeader || _headers.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The header names a preflight asks for, as tokens joined by ", " (only called once <see cref="AllowsHeaders"/> said yes).</summary>
    public static string HeaderList(string requested)
    {
        var names = new List<string>();
        foreach (var part in requested.Split(','))
        {
            var name = part.Trim(' ', '\t');
            if (name.Length > 0)
            {
                names.Add(name.ToLowerInvariant());
            }
        }

        return string.Join(", ", names);
    }

    /// <summary>An origin as configured or sent, compared as browsers serialize it: lowercase scheme and host, no default port.</summary>
    internal static string Normalize(string origin)
    {
        if (origin == "null" || !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            return origin;
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? "[" + uri.IdnHost.Trim('[', ']') + "]" : uri.IdnHost;
        return uri.IsDefaultPort ? $"{uri.Scheme}://{host}" : $"{uri.Scheme}://{host}:{uri.Port}";
    }
}
