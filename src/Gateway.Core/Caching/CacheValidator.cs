using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Caching;

/// <summary>Response caches, globally and per route.</summary>
internal static class CacheValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d) =>
        ValidationRules.GlobalAndPerRoute(d, config, "cache", config.Cache, route => route.Cache, Cache);

    private static void Cache(ConfigDiagnostics d, string path, CacheConfig cache)
    {
        ValidationRules.InRange(d, path + ".max_capacity", cache.MaxCapacity, 1, 10_000_000);
        ValidationRules.InRange(d, path + ".max_bytes", cache.MaxBytes, 1024, 64L * 1024 * 1024 * 1024);
        ValidationRules.InRange(d, path + ".max_entry_bytes", cache.MaxEntryBytes, 1, 512L * 1024 * 1024);
        if (cache.MaxEntryBytes > cache.MaxBytes)
        {
            d.Error(path + ".max_entry_bytes", $"is larger than max_bytes ({cache.MaxBytes}): no such response could ever be kept");
        }

        ValidationRules.Positive(d, path + ".ttl_secs", cache.TtlSecs);
        for (var i = 0; i < cache.CacheableMethods.Count; i++)
        {
            var method = ValidationRules.Method(d, $"{path}.cacheable_methods[{i}]", cache.CacheableMethods[i]);
            if (method is not null && method is not ("GET" or "HEAD"))
            {
                d.Error($"{path}.cacheable_methods[{i}]", $"{method} responses cannot be cached: only GET and HEAD (a request body is not part of the cache key)");
            }
        }

        for (var i = 0; i < cache.CacheableStatusCodes.Count; i++)
        {
            var status = cache.CacheableStatusCodes[i];
            ValidationRules.StatusCode(d, $"{path}.cacheable_status_codes[{i}]", status);
            if (status is 206 or 304)
            {
                d.Warning($"{path}.cacheable_status_codes[{i}]", status == 304
                    ? "a 304 answers one client's conditional request and is never stored; the full 200 it refers to is"
                    : "a 206 holds part of a response and is never stored; range requests pass through uncached");
            }
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
