using System.Net;
using Gateway.Authentication;
using Gateway.Configuration.Validation;
using Gateway.Forwarding;
using Gateway.Routing;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Configuration;

/// <summary>Turns a validated configuration into the immutable snapshot requests run on.</summary>
internal static class ConfigCompiler
{
    public static RuntimeConfig Compile(GatewayConfig config, long version, DateTimeOffset loadedAt, TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        var ids = RouteIds.Assign(config.Routes);
        var routes = new CompiledRoute[config.Routes.Count];
        var notEnforced = FeatureSupport.NotEnforced(config, ids);
        var limitIndex = 0;
        var rateLimiting = config.RateLimiting;
        var globalLimits = rateLimiting is { Enabled: true }
            ? rateLimiting.Global.Select((rule, i) => new RateLimiting.CompiledLimit(limitIndex++, $"global:{i}", rule)).ToArray()
            : [];
        for (var i = 0; i < routes.Length; i++)
        {
            var own = rateLimiting is not { Enabled: false } && config.Routes[i].RateLimit is { Count: > 0 } rules
                ? rules.Select((rule, j) => new RateLimiting.CompiledLimit(limitIndex++, $"route:{ids[i]}:{j}", rule)).ToArray()
                : [];
            routes[i] = CompileRoute(config, config.Routes[i], i, ids[i], time ?? TimeProvider.System);
            routes[i].RateLimits = [.. globalLimits, .. own];
        }

        AssignRanks(routes);
        var trusted = new List<IPNetwork>();
        foreach (var text in config.Server.TrustedProxies)
        {
            if (ValidationRules.TryParseNetwork(text, out var network, out _))
            {
                trusted.Add(network);
            }
        }

        return new RuntimeConfig
        {
            Source = config,
            Version = version,
            LoadedAt = loadedAt,
            Routes = routes,
            Matcher = new RouteMatcher(routes),
            TrustedProxies = [.. trusted],
            MaxRequestBodySize = config.MaxRequestSize,
            Auth = new AuthServices(config.Auth, time ?? TimeProvider.System, loggers),
            RateLimiter = new RateLimiting.RateLimiter(config.RateLimiting, time ?? TimeProvider.System, loggers?.CreateLogger("Gateway.RateLimiting")),
            NotEnforced = notEnforced,
        };
    }

    /// <summary>
    /// Precedence, best first: higher priority; exact literal paths; more literal segments; no wildcard;
    /// more conditions (hosts, headers, query); then file order.
    /// </summary>
    internal static int ComparePrecedence(CompiledRoute a, CompiledRoute b)
    {
        var c = b.Priority.CompareTo(a.Priority);
        if (c != 0)
        {
            return c;
        }

        c = b.Pattern.IsExact.CompareTo(a.Pattern.IsExact);
        if (c != 0)
        {
            return c;
        }

        c = b.Pattern.LiteralCount.CompareTo(a.Pattern.LiteralCount);
        if (c != 0)
        {
            return c;
        }

        c = a.Pattern.HasWildcard.CompareTo(b.Pattern.HasWildcard);
        if (c != 0)
        {
            return c;
        }

        c = b.Conditions.Count.CompareTo(a.Conditions.Count);
        return c != 0 ? c : a.Index.CompareTo(b.Index);
    }

    private static void AssignRanks(CompiledRoute[] routes)
    {
        var ordered = routes.ToArray();
        Array.Sort(ordered, ComparePrecedence);
        for (var i = 0; i < ordered.Length; i++)
        {
            ordered[i].Rank = i;
        }
    }

    private static Backend NewBackend(BackendConfig target, HealthCheckConfig? health, CircuitBreakerConfig? breaker, TimeProvider time)
    {
        var name = Backend.NameOf(new Uri(target.Url, UriKind.Absolute));
        return new Backend(
            target.Url,
            target.Weight,
            new Health.BackendHealth(health, time),
            breaker is null ? null : new Resilience.CircuitBreaker(breaker, time, state => Resilience.ResilienceMetrics.Transition(name, state)));
    }

    private static CompiledRoute CompileRoute(GatewayConfig config, RouteConfig route, int index, string id, TimeProvider time)
    {
        RoutePattern.TryParse(route.Path, out var pattern, out _);
        string[]? methods = null;
        if (route.Methods is { Count: > 0 } list)
        {
            methods = [.. list.Select(Canonical).Distinct(StringComparer.Ordinal)];
        }

        var conditions = new RouteConditions(
            methods,
            route.Hosts is { Count: > 0 } hosts ? new HostCondition(hosts) : null,
            CompileConditions(route.Headers),
            CompileConditions(route.Query));

        var timeout = TimeSpan.FromSeconds(route.TimeoutSecs ?? config.Server.TimeoutSecs);
        var breakerConfig = route.CircuitBreaker ?? config.CircuitBreaker;
        if (breakerConfig?.RequestTimeoutSecs is double attemptTimeout && attemptTimeout < timeout.TotalSeconds)
        {
            timeout = TimeSpan.FromSeconds(attemptTimeout);
        }

        LoadBalancing.BackendGroup? backends = null;
        var targets = route.Backend is { } single ? [new BackendConfig { Url = single }] : route.Backends ?? [];
        if (targets.Count > 0)
        {
            var health = route.HealthCheck is { Enabled: true } or { PassiveEnabled: true } ? route.HealthCheck : null;
            backends = new LoadBalancing.BackendGroup(
                [.. targets.Select(t => NewBackend(t, health, breakerConfig, time))],
                route.LoadBalancer?.Strategy ?? "round_robin",
                route.LoadBalancer?.HashOn,
                route.HealthCheck?.PanicMode ?? false);
        }

        return new CompiledRoute
        {
            Id = id,
            Index = index,
            Pattern = pattern!,
            Conditions = conditions,
            Priority = route.Priority,
            Description = route.Description,
            StripPrefix = route.StripPrefix,
            PreserveHost = route.PreserveHost,
            AllowEncodedSlashes = route.AllowEncodedSlashes,
            Timeout = timeout,
            RequestConfig = BackendRequestConfig(route.BackendProtocol, timeout),
            Http1Backends = backends is not null && route.BackendProtocol != "h2c" && backends.Backends.All(b => b.Url.Scheme == Uri.UriSchemeHttp),
            Mock = route.Mock is { } mock ? new MockResponse(mock.Status, mock.Headers, mock.Body) : null,
            Backends = backends,
            Retry = (route.Retry ?? config.Retry) is { MaxRetries: > 0 } retry ? new Resilience.RetryPolicy(retry, time) : null,
            Auth = route.Auth is { } auth ? new AuthPolicy(auth, config.Auth) : null,
            Unavailable = FeatureSupport.UnavailableReason(route),
            Source = route,
        };
    }

    /// <summary>
    /// How the route talks to its backends (and how health checks probe them): <c>h2c</c> is HTTP/2 with prior
    /// knowledge on cleartext (gRPC without TLS); <c>http1</c> pins HTTP/1.1; <c>http2</c> or unset offers HTTP/2
    /// through ALPN on TLS and uses HTTP/1.1 otherwise.
    /// </summary>
    private static ForwarderRequestConfig BackendRequestConfig(string? protocol, TimeSpan timeout)
    {
        var (version, policy) = protocol switch
        {
            "h2c" => (HttpVersion.Version20, HttpVersionPolicy.RequestVersionExact),
            "http1" => (HttpVersion.Version11, HttpVersionPolicy.RequestVersionExact),
            _ => (HttpVersion.Version20, HttpVersionPolicy.RequestVersionOrLower),
        };
        return new ForwarderRequestConfig { ActivityTimeout = timeout, Version = version, VersionPolicy = policy };
    }

    private static string Canonical(string method)
    {
        var upper = method.ToUpperInvariant();
        // Known methods resolve to the framework's interned strings, so matching compares references first.
        return Microsoft.AspNetCore.Http.HttpMethods.GetCanonicalizedValue(upper);
    }

    private static ValueCondition[] CompileConditions(Dictionary<string, MatchCondition>? conditions)
    {
        if (conditions is null)
        {
            return [];
        }

        var diagnostics = new ConfigDiagnostics("", new SourceMap());
        return [.. conditions.Select(pair => new ValueCondition(
            pair.Key,
            pair.Value.Exact,
            ValidationRules.CompileRegex(diagnostics, "", pair.Value.Regex, fullMatch: true),
            pair.Value.Present))];
    }
}
