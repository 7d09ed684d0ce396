namespace Gateway.Configuration.Validation;

/// <summary>Rate limits, transforms, CORS, IP filters, caches, resilience, observability, reload and TLS.</summary>
internal static class PolicyValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d, string baseDirectory)
    {
        if (config.RateLimiting is { } rl)
        {
            ValidationRules.OneOf(d, "rate_limiting.algorithm", rl.Algorithm, "sliding_window", "fixed_window", "token_bucket");
            ValidationRules.OneOf(d, "rate_limiting.local_algorithm", rl.LocalAlgorithm, "sliding_window", "fixed_window", "token_bucket");
            ValidationRules.InRange(d, "rate_limiting.max_keys", rl.MaxKeys, 100, 100_000_000);
            var bucket = rl.Redis is null ? rl.LocalAlgorithm : rl.Algorithm;
            if (bucket != "token_bucket" && (rl.Global.Any(r => r.Burst is not null) || config.Routes.Any(r => r.RateLimit?.Any(l => l.Burst is not null) == true)))
            {
                d.Warning("rate_limiting", $"burst applies to token_bucket only; with {bucket} it is ignored");
            }
            ValidationRules.OneOf(d, "rate_limiting.failure_mode", rl.FailureMode, "open", "closed");
            for (var i = 0; i < rl.Global.Count; i++)
            {
                RateLimit(d, $"rate_limiting.global[{i}]", rl.Global[i]);
            }

            if (rl.Redis is { } redis)
            {
                ValidationRules.RedisUrl(d, "rate_limiting.redis.url", redis.Url);
                if (redis.TimeoutMs is int timeout)
                {
                    ValidationRules.InRange(d, "rate_limiting.redis.timeout_ms", timeout, 1, 10_000);
                }
            }

            if (!rl.Enabled && (rl.Global.Count > 0 || config.Routes.Any(r => r.RateLimit is { Count: > 0 })))
            {
                d.Warning("rate_limiting.enabled", "is false: no global or route rate limit is applied");
            }
        }

        CircuitBreaker(d, "circuit_breaker", config.CircuitBreaker);
        Retry(d, "retry", config.Retry);
        Cors(d, "cors", config.Cors);
        IpFilter(d, "ip_filter", config.IpFilter);
        Cache(d, "cache", config.Cache);

        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var path = $"routes[{i}]";
            if (route.RateLimit is { } rules)
            {
                for (var j = 0; j < rules.Count; j++)
                {
                    RateLimit(d, $"{path}.rate_limit[{j}]", rules[j]);
                    if (rules[j].Dimension is "user" or "api_key" or "apikey" && route.Auth is null)
                    {
                        d.Warning($"{path}.rate_limit[{j}].dimension", $"'{rules[j].Dimension}' counts authenticated callers only, and this route has no auth");
                    }
                }
            }

            CircuitBreaker(d, path + ".circuit_breaker", route.CircuitBreaker);
            Retry(d, path + ".retry", route.Retry);
            Cors(d, path + ".cors", route.Cors);
            IpFilter(d, path + ".ip_filter", route.IpFilter);
            Cache(d, path + ".cache", route.Cache);
            Transform(d, path + ".transform", route.Transform);
            if (route.HealthCheck is { } hc)
            {
                ValidationRules.Positive(d, path + ".health_check.interval_secs", hc.IntervalSecs);
                ValidationRules.Timeout(d, path + ".health_check.timeout_secs", hc.TimeoutSecs);
                ValidationRules.InRange(d, path + ".health_check.unhealthy_threshold", hc.UnhealthyThreshold, 1, 1000);
                ValidationRules.InRange(d, path + ".health_check.healthy_threshold", hc.HealthyThreshold, 1, 1000);
                ValidationRules.StatusCode(d, path + ".health_check.expected_status", hc.ExpectedStatus);
                if (!hc.Path.StartsWith('/'))
                {
                    d.Error(path + ".health_check.path", "must start with '/'");
                }

                ValidationRules.Timeout(d, path + ".health_check.ejection_secs", hc.EjectionSecs);
                if (hc.TimeoutSecs >= hc.IntervalSecs)
                {
                    d.Warning(path + ".health_check.timeout_secs", $"is not shorter than interval_secs ({hc.IntervalSecs}); a slow backend is then probed back to back");
                }

                if (route.Mock is not null)
                {
                    d.Warning(path + ".health_check", "has no effect on a mock route");
                }
            }
        }

        if (config.Observability is { } obs)
        {
            if (obs.Metrics is { } metrics && !metrics.Path.StartsWith('/'))
            {
                d.Error("observability.metrics.path", "must start with '/'");
            }

            if (obs.Tracing is { } tracing)
            {
                ValidationRules.InRange(d, "observability.tracing.sample_rate", tracing.SampleRate, 0, 1);
                if (tracing.Enabled || tracing.OtlpEndpoint is not null)
                {
                    ValidationRules.HttpUrl(d, "observability.tracing.otlp_endpoint", tracing.OtlpEndpoint);
                }
            }
        }

        if (config.HotReload is { } reload)
        {
            ValidationRules.InRange(d, "hot_reload.debounce_ms", reload.DebounceMs, 0, 60_000);
        }

        if (config.Tls is { } tls)
        {
            if (tls.CertPath is not null || tls.KeyPath is not null)
            {
                ValidationRules.FileExists(d, "tls.cert_path", tls.CertPath, baseDirectory);
                ValidationRules.FileExists(d, "tls.key_path", tls.KeyPath, baseDirectory);
            }
            else if (tls.Certificates is not { Count: > 0 })
            {
                d.Error("tls", "needs cert_path and key_path (or certificates)");
            }

            if (tls.EnableMtls || tls.RequireClientCert)
            {
                ValidationRules.FileExists(d, "tls.ca_cert_path", tls.CaCertPath, baseDirectory);
            }

            if (tls.Certificates is { } certificates)
            {
                for (var i = 0; i < certificates.Count; i++)
                {
                    ValidationRules.FileExists(d, $"tls.certificates[{i}].cert_path", certificates[i].CertPath, baseDirectory);
                    ValidationRules.FileExists(d, $"tls.certificates[{i}].key_path", certificates[i].KeyPath, baseDirectory);
                    if (certificates[i].Hosts.Count == 0)
                    {
                        d.Error($"tls.certificates[{i}].hosts", "must list at least one host name");
                    }
                }
            }
        }
    }

    private static void RateLimit(ConfigDiagnostics d, string path, RateLimitRule rule)
    {
        var dimension = rule.Dimension;
        if (!(dimension is "ip" or "user" or "api_key" or "apikey" or "route"
            || (dimension.StartsWith("header:", StringComparison.Ordinal) && ValidationRules.IsToken(dimension[7..]))))
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

    private static void CircuitBreaker(ConfigDiagnostics d, string path, CircuitBreakerConfig? cb)
    {
        if (cb is null)
        {
            return;
        }

        ValidationRules.InRange(d, path + ".failure_threshold", cb.FailureThreshold, 1, 10_000);
        ValidationRules.InRange(d, path + ".success_threshold", cb.SuccessThreshold, 1, 10_000);
        ValidationRules.InRange(d, path + ".half_open_requests", cb.HalfOpenRequests, 1, 10_000);
        ValidationRules.Timeout(d, path + ".timeout_secs", cb.TimeoutSecs);
        ValidationRules.Timeout(d, path + ".request_timeout_secs", cb.RequestTimeoutSecs);
    }

    private static void Retry(ConfigDiagnostics d, string path, RetryConfig? retry)
    {
        if (retry is null)
        {
            return;
        }

        ValidationRules.InRange(d, path + ".max_retries", retry.MaxRetries, 0, 10);
        ValidationRules.NotNegative(d, path + ".initial_backoff_ms", retry.InitialBackoffMs);
        if (retry.MaxBackoffMs < retry.InitialBackoffMs)
        {
            d.Error(path + ".max_backoff_ms", $"must be at least initial_backoff_ms ({retry.InitialBackoffMs})");
        }

        if (retry.BackoffMultiplier is < 1 or > 100)
        {
            d.Error(path + ".backoff_multiplier", $"must be between 1 and 100 (got {retry.BackoffMultiplier})");
        }

        ValidationRules.InRange(d, path + ".budget_ratio", retry.BudgetRatio, 0, 10);
        ValidationRules.InRange(d, path + ".max_backoff_ms", retry.MaxBackoffMs, 0, 600_000);
    }

    private static void Cors(ConfigDiagnostics d, string path, CorsConfig? cors)
    {
        if (cors is null)
        {
            return;
        }

        var wildcard = false;
        for (var i = 0; i < cors.AllowedOrigins.Count; i++)
        {
            var origin = cors.AllowedOrigins[i];
            if (origin == "*")
            {
                wildcard = true;
                continue;
            }

            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || (uri.AbsolutePath != "/" && uri.AbsolutePath.Length > 0)
                || origin.EndsWith('/') || uri.Query.Length > 0)
            {
                d.Error($"{path}.allowed_origins[{i}]", $"'{origin}' must be an origin like https://app.example.com (scheme, host, optional port; no path) or '*'");
            }
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

    private static void IpFilter(ConfigDiagnostics d, string path, IpFilterConfig? filter)
    {
        if (filter is null)
        {
            return;
        }

        for (var i = 0; i < filter.Whitelist.Count; i++)
        {
            ValidationRules.Network(d, $"{path}.whitelist[{i}]", filter.Whitelist[i]);
        }

        for (var i = 0; i < filter.Blacklist.Count; i++)
        {
            ValidationRules.Network(d, $"{path}.blacklist[{i}]", filter.Blacklist[i]);
        }

        ValidationRules.OneOf(d, path + ".default_action", filter.DefaultAction, "allow", "deny");
        if (filter.DefaultAction == "allow" && filter.Whitelist.Count > 0 && filter.Blacklist.Count == 0)
        {
            d.Warning(path, "has a whitelist but default_action allow, so every address is allowed anyway; set default_action: deny");
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
            ValidationRules.RedisUrl(d, path + ".redis.url", redis.Url);
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
