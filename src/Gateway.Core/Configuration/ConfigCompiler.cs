using System.Collections.Frozen;
using System.Net;
using Gateway.Configuration.Validation;
using Gateway.Forwarding;
using Gateway.Pipeline;
using Gateway.Routing;
using Gateway.State;
using Microsoft.Extensions.Logging;

namespace Gateway.Configuration;

/// <summary>
/// Turns a validated configuration into the immutable snapshot requests run on: the route table (routing is the
/// core's), then each stage's policy for each route and for the snapshot, in stage order. Live state is looked up in
/// the registries of the <see cref="LiveState"/> given, never made here; the caller commits the registries once the snapshot is live.
/// </summary>
internal static class ConfigCompiler
{
    /// <summary>
    /// Headers that say who the client is or how it reached the gateway (its address, the port, prefix, scheme or URL it
    /// used): frameworks trust them, so they pass only from a trusted proxy.
    /// </summary>
    public static readonly string[] DefaultProxyOnlyHeaders =
    [
        "X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "X-Client-IP", "X-Cluster-Client-IP",
        "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Server",
        "X-Original-URL", "X-Rewrite-URL", "X-Original-Host", "X-Original-Forwarded-For", "Front-End-Https", "X-Url-Scheme",
    ];

    /// <summary>Compiles for the offline verbs and tools: against a live state of its own that never connects, probes or counts.</summary>
    public static RuntimeConfig Compile(GatewayConfig config, long version, DateTimeOffset loadedAt) => Compile(config, version, loadedAt, LiveState.ForOffline());

    public static RuntimeConfig Compile(GatewayConfig config, long version, DateTimeOffset loadedAt, LiveState state)
    {
        var ids = RouteIds.Assign(config.Routes);
        var logger = state.Loggers.CreateLogger("Gateway.Routing");
        var routes = new CompiledRoute[config.Routes.Count];
        for (var i = 0; i < routes.Length; i++)
        {
            routes[i] = CompileRoute(config, config.Routes[i], i, ids[i], logger, state.Metrics.RouteConditionTimeouts);
        }

        AssignRanks(routes);
        var stages = GatewayFeatures.Stages;
        var shared = new Dictionary<System.Reflection.MethodInfo, object>();
        foreach (var route in routes)
        {
            var compilation = new StageCompilation(config, state, shared) { Route = route, Upstream = new UpstreamShapeBuilder(route) };
            for (var s = 0; s < stages.Length; s++)
            {
                if (stages[s].Scope == StageScope.Route)
                {
                    route.Policies[s] = stages[s].Compile(compilation);
                }
            }
        }

        var matcher = new RouteMatcher(routes);
        var snapshot = new StageCompilation(config, state, shared) { Routes = routes, Matcher = matcher };
        var policies = new object?[stages.Length];
        for (var s = 0; s < stages.Length; s++)
        {
            if (stages[s].Scope == StageScope.Request)
            {
                policies[s] = stages[s].Compile(snapshot);
            }
        }

        var trusted = new List<IPNetwork>();
        foreach (var text in config.Server.TrustedProxies)
        {
            if (ValidationRules.TryParseNetwork(text, out var network, out _))
            {
                trusted.Add(network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96 ? new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96) : network);
            }
        }

        return new RuntimeConfig
        {
            Source = config,
            Version = version,
            LoadedAt = loadedAt,
            Routes = routes,
            Matcher = matcher,
            TrustedProxies = [.. trusted],
            ProxyOnlyHeaders = (config.Server.ProxyOnlyHeaders ?? [.. DefaultProxyOnlyHeaders]).ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            MaxRequestBodySize = config.MaxRequestSize,
            StagePolicies = policies,
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

    private static CompiledRoute CompileRoute(GatewayConfig config, RouteConfig route, int index, string id, ILogger logger, System.Diagnostics.Metrics.Counter<long> timeouts)
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
            CompileConditions(route.Headers, id, logger, timeouts),
            CompileConditions(route.Query, id, logger, timeouts));

        RouteUnavailable? unavailable = null;
        foreach (var feature in GatewayFeatures.All)
        {
            unavailable ??= feature.UnavailableReason(config, route);
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
            Unavailable = unavailable,
            Source = route,
        };
    }

    private static string Canonical(string method)
    {
        var upper = method.ToUpperInvariant();
        // Known methods resolve to the framework's interned strings, so matching compares references first.
        return Microsoft.AspNetCore.Http.HttpMethods.GetCanonicalizedValue(upper);
    }

    private static ValueCondition[] CompileConditions(Dictionary<string, MatchCondition>? conditions, string routeId, ILogger logger, System.Diagnostics.Metrics.Counter<long> timeouts)
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
            pair.Value.Present,
            routeId,
            logger,
            timeouts))];
    }
}
