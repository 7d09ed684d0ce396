using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Cors;

/// <summary>CORS blocks, globally and per route.</summary>
internal static class CorsValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d) =>
        ValidationRules.GlobalAndPerRoute(d, config, "cors", config.Cors, route => route.Cors, Cors);

    private static void Cors(ConfigDiagnostics d, string path, CorsConfig cors)
    {
        var wildcard = false;
        for (var i = 0; i < cors.AllowedOrigins.Count; i++)
        {
            var origin = cors.AllowedOrigins[i];
            if (origin == "*")
            {
                wildcard = true;
                continue;
            }

            if (origin == "null")
            {
                // Sandboxed documents and file: pages send it; any page can make itself one, so it is allowed only as written.
                d.Warning($"{path}.allowed_origins[{i}]", "'null' is the origin of sandboxed and file: documents, which any page can create; allow it only if you must");
                continue;
            }

            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || (uri.AbsolutePath != "/" && uri.AbsolutePath.Length > 0)
                || origin.EndsWith('/') || uri.Query.Length > 0)
            {
                d.Error($"{path}.allowed_origins[{i}]", $"'{origin}' must be an origin like https://app.example.com (scheme, host, optional port; no path) or '*'");
            }
        }

        if (cors.AllowCredentials && cors.AllowedOrigins.Contains("null"))
        {
            d.Error(path + ".allow_credentials", "cannot be true when allowed_origins contains 'null': any page can make itself a null origin and would send its users' credentials");
        }

        if (wildcard && cors.AllowCredentials)
        {
            d.Error(path + ".allow_credentials", "cannot be true when allowed_origins contains '*': browsers refuse credentials with a wildcard origin; list the origins instead");
        }

        for (var i = 0; i < cors.AllowedMethods.Count; i++)
        {
            if (cors.AllowedMethods[i] != "*")
            {
                ValidationRules.Method(d, $"{path}.allowed_methods[{i}]", cors.AllowedMethods[i]);
            }
        }

        for (var i = 0; i < cors.AllowedHeaders.Count; i++)
        {
            if (cors.AllowedHeaders[i] != "*")
            {
                ValidationRules.HeaderName(d, $"{path}.allowed_headers[{i}]", cors.AllowedHeaders[i]);
            }
        }

        for (var i = 0; i < cors.ExposedHeaders.Count; i++)
        {
            ValidationRules.HeaderName(d, $"{path}.exposed_headers[{i}]", cors.ExposedHeaders[i]);
        }

        if (cors.MaxAgeSecs is int maxAge)
        {
            ValidationRules.NotNegative(d, path + ".max_age_secs", maxAge);
        }
    }
}
