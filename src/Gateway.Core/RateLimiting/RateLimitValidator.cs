using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.RateLimiting;

/// <summary>Rate limits: the global block and every route's rules.</summary>
internal static class RateLimitValidator
{
    private static readonly string[] Algorithms = KnownValuesAttribute.Of<RateLimitingConfig>(nameof(RateLimitingConfig.Algorithm));
    private static readonly string[] LocalAlgorithms = KnownValuesAttribute.Of<RateLimitingConfig>(nameof(RateLimitingConfig.LocalAlgorithm));
    private static readonly string[] FailureModes = KnownValuesAttribute.Of<RateLimitingConfig>(nameof(RateLimitingConfig.FailureMode));

    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        if (config.RateLimiting is { } rl)
        {
            ValidationRules.OneOf(d, "rate_limiting.algorithm", rl.Algorithm, Algorithms);
            ValidationRules.OneOf(d, "rate_limiting.local_algorithm", rl.LocalAlgorithm, LocalAlgorithms);
            ValidationRules.InRange(d, "rate_limiting.max_keys", rl.MaxKeys, 100, 100_000_000);
            var bucket = rl.Redis is null ? rl.LocalAlgorithm : rl.Algorithm;
            if (bucket != "token_bucket" && (rl.Global.Any(r => r.Burst is not null) || config.Routes.Any(r => r.RateLimit?.Any(l => l.Burst is not null) == true)))
            {
                d.Warning("rate_limiting", $"burst applies to token_bucket only; with {bucket} it is ignored");
            }

            ValidationRules.OneOf(d, "rate_limiting.failure_mode", rl.FailureMode, FailureModes);
            for (var i = 0; i < rl.Global.Count; i++)
            {
                RateLimit(d, $"rate_limiting.global[{i}]", rl.Global[i]);
            }

            if (rl.Redis is { } redis)
            {
                ValidationRules.Redis(d, "rate_limiting.redis", redis);
            }

            if (!rl.Enabled && (rl.Global.Count > 0 || config.Routes.Any(r => r.RateLimit is { Count: > 0 })))
            {
                d.Warning("rate_limiting.enabled", "is false: no global or route rate limit is applied");
            }
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            if (route.RateLimit is { } rules)
            {
                for (var j = 0; j < rules.Count; j++)
                {
                    RateLimit(d, $"routes[{i}].rate_limit[{j}]", rules[j]);
                    if (rules[j].Dimension is "user" or "api_key" or "apikey" && route.Auth is null)
                    {
                        d.Warning($"routes[{i}].rate_limit[{j}].dimension", $"'{rules[j].Dimension}' counts authenticated callers only, and this route has no auth");
                    }
                }
            }
        }
    }

    private static void RateLimit(ConfigDiagnostics d, string path, RateLimitRule rule)
    {
        var dimension = rule.Dimension;
        if (!(dimension is "ip" or "user" or "api_key" or "apikey" or "route"
            || (dimension.StartsWith("header:", StringComparison.Ordinal) && ValidationRules.IsToken(dimension.AsSpan(7)))))
        {
            var suggestion = YamlBinder.Suggest(dimension, ["ip", "user", "api_key", "route"]);
            d.Error(path + ".dimension", $"'{dimension}' must be ip, user, api_key, route or header:NAME"
                + (suggestion is null ? "" : $"; did you mean '{suggestion}'?"));
        }

        if (rule.Requests <= 0)
        {
            d.Error(path + ".requests", $"must be greater than 0 (got {rule.Requests})");
        }

        if (!(rule.WindowSecs >= 0.001) || rule.WindowSecs > ValidationRules.MaxValue)
        {
            d.Error(path + ".window_secs", $"must be between 0.001 and {ValidationRules.MaxValue:0} seconds (got {rule.WindowSecs})");
        }
        if (rule.Burst is long burst && burst < rule.Requests)
        {
            d.Error(path + ".burst", $"must be at least requests ({rule.Requests}); got {burst}");
        }
    }
}
