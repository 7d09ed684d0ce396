using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Caching;

/// <summary>Response caches, globally and per route.</summary>
internal static class CacheValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        Cache(d, "cache", config.Cache);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            Cache(d, $"routes[{i}].cache", config.Routes[i].Cache);
        }
    }

    private static void Cache(ConfigDiagnostics d, string path, CacheConfig? cache)
    {
        if (cache is null)
        {
            return;
        }

        ValidationRules.InRange(d, path + ".max_capacity", cache.MaxCapacity, 1, 10_000_000);
        ValidationRules.Positive(d, path + ".ttl_secs", cache.TtlSecs);
        for (var i = 0; i < cache.CacheableMethods.Count; i++)
        {
            ValidationRules.Method(d, $"{path}.cacheable_methods[{i}]", cache.CacheableMethods[i]);
        }

        for (var i = 0; i < cache.CacheableStatusCodes.Count; i++)
        {
            ValidationRules.StatusCode(d, $"{path}.cacheable_status_codes[{i}]", cache.CacheableStatusCodes[i]);
        }

        for (var i = 0; i < cache.KeyHeaders.Count; i++)
        {
            ValidationRules.HeaderName(d, $"{path}.key_headers[{i}]", cache.KeyHeaders[i]);
        }

        if (cache.Redis is { } redis)
        {
            ValidationRules.Redis(d, path + ".redis", redis);
        }
    }
}
