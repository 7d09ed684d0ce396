using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Transforms;

/// <summary>Request and response transforms of every route.</summary>
internal static class TransformValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        for (var i = 0; i < config.Routes.Count; i++)
        {
            Transform(d, $"routes[{i}].transform", config.Routes[i].Transform);
        }
    }

    private static void Transform(ConfigDiagnostics d, string path, TransformConfig? transform)
    {
        if (transform?.Request is { } request)
        {
            Headers(d, path + ".request.add_headers", request.AddHeaders);
            Headers(d, path + ".request.set_headers", request.SetHeaders);
            HeaderNames(d, path + ".request.remove_headers", request.RemoveHeaders);
            if (request.PathRewrites is { } rewrites)
            {
                for (var i = 0; i < rewrites.Count; i++)
                {
                    ValidationRules.CompileRegex(d, $"{path}.request.path_rewrites[{i}].pattern", rewrites[i].Pattern, fullMatch: false);
                    if (!rewrites[i].Replacement.StartsWith('/') && !rewrites[i].Replacement.StartsWith('$'))
                    {
                        d.Warning($"{path}.request.path_rewrites[{i}].replacement", "does not start with '/'; the rewritten path will be made absolute");
                    }
                }
            }
        }

        if (transform?.Response is { } response)
        {
            Headers(d, path + ".response.add_headers", response.AddHeaders);
            Headers(d, path + ".response.set_headers", response.SetHeaders);
            HeaderNames(d, path + ".response.remove_headers", response.RemoveHeaders);
        }
    }

    private static void Headers(ConfigDiagnostics d, string path, Dictionary<string, string>? headers)
    {
        if (headers is null)
        {
            return;
        }

        foreach (var (name, value) in headers)
        {
            ValidationRules.HeaderName(d, $"{path}.{name}", name);
            ValidationRules.HeaderValue(d, $"{path}.{name}", value);
        }
    }

    private static void HeaderNames(ConfigDiagnostics d, string path, List<string>? names)
    {
        if (names is null)
        {
            return;
        }

        for (var i = 0; i < names.Count; i++)
        {
            ValidationRules.HeaderName(d, $"{path}[{i}]", names[i]);
        }
    }
}
