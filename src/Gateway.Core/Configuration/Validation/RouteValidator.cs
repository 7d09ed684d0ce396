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

    private static readonly string[] Strategies = KnownValuesAttribute.Of<LoadBalancerConfig>(nameof(LoadBalancerConfig.Strategy));

    private static readonly string[] BackendProtocols = KnownValuesAttribute.Of<RouteConfig>(nameof(RouteConfig.BackendProtocol));

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
                ValidationRules.OneOf(d, path + ".backend_protocol", route.BackendProtocol, BackendProtocols);
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
        || (value.StartsWith("header:", StringComparison.Ordinal) && ValidationRules.IsToken(value.AsSpan(7)))
        || (value.StartsWith("cookie:", StringComparison.Ordinal) && ValidationRules.IsToken(value.AsSpan(7)));

    /// <summary>
    /// Most membership tests the unreachable-route check may spend on a table. Finding an earlier route whose
    /// method list covers a later one's is a subset query, which has no fast general answer; real tables need a
    /// few per route, and a crafted one stops here instead of taking minutes.
    /// </summary>
    internal const long MaxShadowChecks = 20_000_000;

    /// <summary>
    /// Warns about a route that an earlier one always wins: same canonical path and priority, neither has host,
    /// header or query conditions, and the earlier takes every method of the later. The warning names the first
    /// such earlier route. Routes are grouped by canonical path and priority, so the table is walked once.
    /// </summary>
    private static void WarnShadowed(GatewayConfig config, RoutePattern?[] patterns, ConfigDiagnostics d)
    {
        var groups = new Dictionary<(string Canonical, int Priority), ShadowGroup>();
        var budget = MaxShadowChecks;
        var stopped = false;
        for (var j = 0; j < config.Routes.Count; j++)
        {
            var later = config.Routes[j];
            if (patterns[j] is not { } pattern || HasConditions(later))
            {
                continue;
            }

            var key = (pattern.Canonical, later.Priority);
            if (!groups.TryGetValue(key, out var group))
            {
                group = new ShadowGroup();
                groups[key] = group;
            }

            if (group.Add(j, later.Methods, ref budget, ref stopped) is int i)
            {
                var earlier = config.Routes[i];
                d.Warning($"routes[{j}]", $"is never reached: routes[{i}] ('{earlier.Path}') has the same path and takes all of its methods");
            }
        }

        if (stopped)
        {
            d.Warning("routes", "too many routes share a path with different method lists: some were not checked for being unreachable");
        }
    }

    /// <summary>
    /// The routes of one canonical path and priority seen so far, indexed so that the first one taking all the
    /// methods of a new route is found without comparing it with every earlier route.
    /// </summary>
    private sealed class ShadowGroup
    {
        /// <summary>The first route with no method list (it takes every method), or -1.</summary>
        private int _firstAll = -1;

        /// <summary>
        /// The group's only route so far: nothing can shadow the first one, and most paths have a single route, so
        /// the indexes below are built only when a second one arrives.
        /// </summary>
        private (int Index, List<string>? Methods)? _first;

        private bool _indexed;

        /// <summary>
        /// For each method list already seen (keyed exactly, so equal keys are equal lists), the first route whose
        /// list covers it; null when the search ran out of budget. Later routes only have higher indices, so the
        /// answer never changes once known.
        /// </summary>
        private readonly Dictionary<string, int?> _covering = new(StringComparer.Ordinal);

        /// <summary>For each method, the first route of each distinct list that has it, in file order.</summary>
        private readonly Dictionary<string, List<(int Index, HashSet<string> Methods)>> _byMethod = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>Adds route <paramref name="index"/>; returns the earlier route that shadows it, if any.</summary>
        public int? Add(int index, List<string>? methods, ref long budget, ref bool stopped)
        {
            if (!_indexed)
            {
                if (_first is not { } first)
                {
                    _first = (index, methods);
                    return null;
                }

                _indexed = true;
                Index(first.Index, first.Methods, ref budget, ref stopped);
            }

            return Index(index, methods, ref budget, ref stopped);
        }

        private int? Index(int index, List<string>? methods, ref long budget, ref bool stopped)
        {
            if (methods is null or { Count: 0 })
            {
                var shadowing = Earliest(_firstAll, null);
                if (_firstAll < 0)
                {
                    _firstAll = index;
                }

                return shadowing;
            }

            var key = ExactKey(methods);
            if (_covering.TryGetValue(key, out var known))
            {
                return Earliest(_firstAll, known);
            }

            // A route taking every method shadows the rest, so only routes before it need searching.
            var set = new HashSet<string>(methods, StringComparer.OrdinalIgnoreCase);
            var found = stopped ? null : FirstCovering(set, _firstAll >= 0 ? _firstAll : index, ref budget, ref stopped);
            _covering[key] = found is not null || !stopped ? found ?? index : null;
            foreach (var method in set)
            {
                if (!_byMethod.TryGetValue(method, out var list))
                {
                    list = [];
                    _byMethod[method] = list;
                }

                list.Add((index, set));
            }

            return Earliest(_firstAll, found);
        }

        private static int? Earliest(int firstAll, int? covering) =>
            firstAll < 0 ? covering : covering is int c ? Math.Min(firstAll, c) : firstAll;

        /// <summary>The first route before <paramref name="before"/> whose methods include all of <paramref name="wanted"/>.</summary>
        private int? FirstCovering(HashSet<string> wanted, int before, ref long budget, ref bool stopped)
        {
            // Only routes having every wanted method qualify: walk the shortest of their lists.
            List<(int Index, HashSet<string> Methods)>? shortest = null;
            foreach (var method in wanted)
            {
                if (!_byMethod.TryGetValue(method, out var list))
                {
                    return null;
                }

                if (shortest is null || list.Count < shortest.Count)
                {
                    shortest = list;
                }
            }

            foreach (var (index, methods) in shortest!)
            {
                if (index >= before)
                {
                    return null;
                }

                budget -= wanted.Count;
                if (budget < 0)
                {
                    stopped = true;
                    return null;
                }

                if (methods.IsSupersetOf(wanted))
                {
                    return index;
                }
            }

            return null;
        }

        /// <summary>The method list as written (sorted, duplicates dropped), length-prefixed so no list can pose as another.</summary>
        private static string ExactKey(List<string> methods)
        {
            var sorted = methods.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            var builder = new System.Text.StringBuilder();
            foreach (var method in sorted)
            {
                builder.Append(method.Length).Append(':').Append(method);
            }

            return builder.ToString();
        }
    }

    private static bool HasConditions(RouteConfig route) =>
        route.Hosts is { Count: > 0 } || route.Headers is { Count: > 0 } || route.Query is { Count: > 0 };
}
