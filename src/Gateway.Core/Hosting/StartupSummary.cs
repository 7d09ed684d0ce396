using System.Reflection;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Pipeline;

namespace Gateway.Hosting;

/// <summary>The one line that says what started: version, config file, routes, backends, codec and the features in use.</summary>
internal static class StartupSummary
{
    /// <summary>Stages every request runs; naming them would tell nothing about the config.</summary>
    private static readonly HashSet<Type> AlwaysOn = [typeof(RequestContextStage), typeof(Observability.Metrics.MetricsStage), typeof(LimitsStage), typeof(Routing.RouteMatchStage), typeof(ForwardStage)];

    /// <summary>What the start-up line says: counts, and the features in use as one comma-separated list.</summary>
    public readonly record struct Facts(int Routes, int Backends, string Features);

    public static Facts Describe(RuntimeConfig runtime)
    {
        var config = runtime.Source;
        var features = new List<string>();
        var stages = GatewayFeatures.Stages;
        for (var i = 0; i < stages.Length; i++)
        {
            if (!AlwaysOn.Contains(stages[i].GetType()) && (runtime.StagePolicies[i] is not null || runtime.Routes.Any(r => r.Policies[i] is not null)))
            {
                features.Add(Name(stages[i]));
            }
        }

        var upstreams = runtime.Routes.Select(r => r.Policy<ForwardPolicy>()?.Upstream).OfType<UpstreamRoute>().ToList();
        var backends = upstreams.SelectMany(u => u.Backends.Backends).Select(b => b.Url.ToString()).Distinct(StringComparer.Ordinal).Count();
        Add(features, "mocks", runtime.Routes.Any(r => r.Policy<ForwardPolicy>()?.Mock is not null));
        Add(features, "health_checks", upstreams.Any(u => u.Shape.Route.Source.HealthCheck is { Enabled: true } or { PassiveEnabled: true }));
        Add(features, "circuit_breakers", upstreams.Any(u => u.Backends.Backends.Any(b => b.Breaker is not null)));
        Add(features, "retries", upstreams.Any(u => u.Retry is not null));
        Add(features, "hot_reload", config.HotReload is { Enabled: true });
        Add(features, "public_metrics", config.Observability?.Metrics is { Enabled: true });
        Add(features, "slos", config.Routes.Any(r => r.Slo is not null));
        Add(features, "http2", config.Server.Http2 == true);

        var described = features.Count == 0 ? "none" : string.Join(", ", features);
        var unavailable = runtime.Routes.Where(r => r.Unavailable is not null).ToList();
        if (unavailable.Count > 0)
        {
            // Said where it is seen: a config whose routes all answer 503 must not look healthy here.
            described += $"; {unavailable.Count} {(unavailable.Count == 1 ? "route answers" : "routes answer")} 503 until a feature they need is built ("
                + string.Join(", ", unavailable.Select(r => r.Unavailable!.Reason).Distinct(StringComparer.Ordinal)) + ")";
        }

        return new Facts(runtime.Routes.Length, backends, described);
    }

    /// <summary>The version with the short commit it was built from (<c>0.1.0+3ce305b</c>).</summary>
    public static string Version()
    {
        var version = typeof(StartupSummary).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 && version.Length > plus + 8 ? version[..(plus + 8)] : version;
    }

    /// <summary><c>AuthenticationStage</c> as <c>authentication</c>, <c>RateLimitStage</c> as <c>rate_limit</c>.</summary>
    private static string Name(Stage stage)
    {
        var name = stage.GetType().Name;
        return YamlBinder.SnakeCase(name.EndsWith("Stage", StringComparison.Ordinal) ? name[..^"Stage".Length] : name);
    }

    private static void Add(List<string> features, string name, bool on)
    {
        if (on)
        {
            features.Add(name);
        }
    }
}
