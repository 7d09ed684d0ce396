using Gateway.Routing;

namespace Gateway.Configuration.Validation;

/// <summary>Route paths, conditions, backends and mocks.</summary>
internal static class RouteValidator
{
    public const int MaxWeight = 10_000;

    private static readonly HashSet<string> FramingHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade",
    };

    private static readonly string[] Strategies =
        ["round_robin", "least_connections", "weighted", "ip_hash", "random", "power_of_two", "consistent_hash"];

    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var patterns = new RoutePattern?[config.Routes.Count];
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var path = $"routes[{i}]";
            patterns[i] = ValidatePath(d, path, route);
            ValidateTarget(d, path, route);
            ValidateConditions(d, path, route);

            if (route.Id is { } id)
            {
                if (!RouteIds.IsValid(id))
                {
                    d.Error(path + ".id", $"'{id}' is not a valid id (1-64 letters, digits, '.', '_' or '-')");
                }
                else if (ids.TryGetValue(id, out var first))
                {
                    d.Error(path + ".id", $"duplicate route id '{id}' (also routes[{first}])");
                }
                else
                {
                    ids[id] = i;
                }
            }

            ValidationRules.Timeout(d, path + ".timeout_secs", route.TimeoutSecs);
            if (route.AllowEncodedSlashes)
            {
                d.Warning(path + ".allow_encoded_slashes", "lets %2F and %5C through undecoded; a backend that decodes them may read a different path (even '..') than the one matched");
            }

            if (route.LoadBalancer is { } lb)
            {
                ValidationRules.OneOf(d, path + ".load_balancer.strategy", lb.Strategy, Strategies);
                if (lb.Strategy == "consistent_hash")
                {
                    if (lb.HashOn is null)
                    {
                        d.Error(path + ".load_balancer.hash_on", "is required for consistent_hash (header:NAME, cookie:NAME or ip)");
                    }
                }

                if (lb.HashOn is { } hashOn && !IsHashOn(hashOn))
                {
                    d.Error(path + ".load_balancer.hash_on", $"'{hashOn}' must be header:NAME, cookie:NAME or ip");
                }
                else if (lb.HashOn is not null && lb.Strategy != "consistent_hash")
                {
                    d.Warning(path + ".load_balancer.hash_on", $"is used by consistent_hash only; with {lb.Strategy} it is ignored");
                }
            }

            if (route.BackendProtocol is not null)
            {
                ValidationRules.OneOf(d, path + ".backend_protocol", route.BackendProtocol, "http1", "http2", "h2c");
            }

            if (route.Websocket is { } ws)
            {
                ValidationRules.Timeout(d, path + ".websocket.idle_timeout_secs", ws.IdleTimeoutSecs);
                ValidationRules.Positive(d, path + ".websocket.max_lifetime_secs", ws.MaxLifetimeSecs);
            }

            if (route.Slo is { } slo)
            {
                ValidationRules.Positive(d, path + ".slo.latency_ms", slo.LatencyMs);
                if (!(slo.Target > 0 && slo.Target < 1))
                {
                    d.Error(path + ".slo.target", $"must be a ratio between 0 and 1, like 0.999 (got {slo.Target})");
                }
            }
        }

        WarnShadowed(config, patterns, d);
    }

    private static RoutePattern? ValidatePath(ConfigDiagnostics d, string path, RouteConfig route)
    {
        if (string.IsNullOrEmpty(route.Path))
        {
            d.Error(path + ".path", "is required");
            return null;
        }

        if (!RoutePattern.TryParse(route.Path, out var pattern, out var error))
        {
            d.Error(path + ".path", $"'{route.Path}' {error}");
            return null;
        }

        return pattern;
    }

    private static void ValidateTarget(ConfigDiagnostics d, string path, RouteConfig route)
    {
        var targets = (route.Backend is not null ? 1 : 0) + (route.Backends is not null ? 1 : 0) + (route.Mock is not null ? 1 : 0);
        if (targets == 0)
        {
            d.Error(path, "needs a target: 'backend' (one URL), 'backends' (a list) or 'mock' (a direct answer)");
        }
        else if (targets > 1)
        {
            d.Error(path, "has more than one target: give only one of 'backend', 'backends' and 'mock'");
        }

        if (route.Backend is not null)
        {
            ValidationRules.HttpUrl(d, path + ".backend", route.Backend);
        }

        if (route.Backends is { } backends)
        {
            if (backends.Count == 0)
            {
                d.Error(path + ".backends", "must list at least one backend");
            }

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var j = 0; j < backends.Count; j++)
            {
                var backendPath = $"{path}.backends[{j}]";
                if (ValidationRules.HttpUrl(d, backendPath + ".url", backends[j].Url) && !seen.Add(backends[j].Url.TrimEnd('/')))
                {
                    d.Warning(backendPath + ".url", $"'{backends[j].Url}' is listed twice; give it a higher weight instead");
                }

                if (backends[j].Weight is <= 0 or > MaxWeight)
                {
                    d.Error(backendPath + ".weight", $"must be between 1 and {MaxWeight} (got {backends[j].Weight})");
                }
            }
        }

        if (route.Mock is { } mock)
        {
            ValidationRules.StatusCode(d, path + ".mock.status", mock.Status);
            foreach (var (name, value) in mock.Headers)
            {
                ValidationRules.HeaderName(d, $"{path}.mock.headers.{name}", name);
                ValidationRules.HeaderValue(d, $"{path}.mock.headers.{name}", value);
                if (FramingHeaders.Contains(name))
                {
                    d.Error($"{path}.mock.headers.{name}", $"'{name}' is set by the gateway from the body and connection; it cannot be configured");
                }
            }

            if (mock.Body is not null && (mock.Status is 204 or 304 or < 200))
            {
                d.Error(path + ".mock.body", $"a {mock.Status} response cannot have a body");
            }

            if (route.StripPrefix || route.PreserveHost)
            {
                d.Warning(path, "strip_prefix and preserve_host have no effect on a mock route");
            }
        }
    }

    private static void ValidateConditions(ConfigDiagnostics d, string path, RouteConfig route)
    {
        if (route.Methods is { } methods)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var j = 0; j < methods.Count; j++)
            {
                var method = ValidationRules.Method(d, $"{path}.methods[{j}]", methods[j]);
                if (method is not null && !seen.Add(method))
                {
                    d.Warning($"{path}.methods[{j}]", $"'{methods[j]}' is listed twice");
                }
            }
        }

        if (route.Hosts is { } hosts)
        {
            for (var j = 0; j < hosts.Count; j++)
            {
                if (!RouteIds.IsHostPattern(hosts[j]))
                {
                    d.Error($"{path}.hosts[{j}]", $"'{hosts[j]}' must be a host name (like api.example.com) or a wildcard (like *.example.com), without port");
                }
            }
        }

        ValidateValueConditions(d, path + ".headers", route.Headers, isHeader: true);
        ValidateValueConditions(d, path + ".query", route.Query, isHeader: false);
    }

    private static void ValidateValueConditions(ConfigDiagnostics d, string path, Dictionary<string, MatchCondition>? conditions, bool isHeader)
    {
        if (conditions is null)
        {
            return;
        }

        foreach (var (name, condition) in conditions)
        {
            var conditionPath = $"{path}.{name}";
            if (isHeader)
            {
                ValidationRules.HeaderName(d, conditionPath, name);
            }

            var kinds = (condition.Exact is not null ? 1 : 0) + (condition.Regex is not null ? 1 : 0) + (condition.Present is not null ? 1 : 0);
            if (kinds != 1)
            {
                d.Error(conditionPath, "must be a value, {regex: PATTERN} or {present: true|false}");
            }

            ValidationRules.CompileRegex(d, conditionPath + ".regex", condition.Regex, fullMatch: true);
        }
    }

    private static bool IsHashOn(string value) =>
        value == "ip"
        || (value.StartsWith("header:", StringComparison.Ordinal) && ValidationRules.IsToken(value[7..]))
        || (value.StartsWith("cookie:", StringComparison.Ordinal) && ValidationRules.IsToken(value[7..]));

    private static void WarnShadowed(GatewayConfig config, RoutePattern?[] patterns, ConfigDiagnostics d)
    {
        for (var j = 0; j < config.Routes.Count; j++)
        {
            var later = config.Routes[j];
            if (patterns[j] is null || HasConditions(later))
            {
                continue;
            }

            for (var i = 0; i < j; i++)
            {
                var earlier = config.Routes[i];
                if (patterns[i] is null || HasConditions(earlier) || earlier.Priority != later.Priority
                    || patterns[i]!.Canonical != patterns[j]!.Canonical)
                {
                    continue;
                }

                if (earlier.Methods is null or { Count: 0 }
                    || (later.Methods is { Count: > 0 } && later.Methods.All(m => earlier.Methods.Contains(m, StringComparer.OrdinalIgnoreCase))))
                {
                    d.Warning($"routes[{j}]", $"is never reached: routes[{i}] ('{earlier.Path}') has the same path and takes all of its methods");
                    break;
                }
            }
        }
    }

    private static bool HasConditions(RouteConfig route) =>
        route.Hosts is { Count: > 0 } || route.Headers is { Count: > 0 } || route.Query is { Count: > 0 };
}
