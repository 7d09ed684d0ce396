using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Routing;
using Gateway.State;
using Microsoft.Extensions.Logging;

namespace Gateway.Pipeline;

/// <summary>
/// What a stage's compile step sees: the config, the live state it may refer to (never own), and for a route
/// stage the route and the upstream shape the route's stages build together.
/// </summary>
internal sealed class StageCompilation(GatewayConfig config, LiveState state, Dictionary<System.Reflection.MethodInfo, object> shared)
{
    /// <summary>
    /// Something a stage builds once per snapshot and shares among its routes (its authenticators, say): one value per
    /// place that asks (the <paramref name="create"/> function), so two stages sharing a type never share a value.
    /// </summary>
    public T Once<T>(Func<StageCompilation, T> create)
        where T : class
    {
        lock (shared)
        {
            if (!shared.TryGetValue(create.Method, out var value))
            {
                value = create(this);
                shared[create.Method] = value;
            }

            return (T)value;
        }
    }

    public GatewayConfig Config { get; } = config;

    public LiveState State { get; } = state;

    public TimeProvider Time => State.Time;

    public ILoggerFactory Loggers => State.Loggers;

    /// <summary>The route being compiled (route stages), or null for request stages.</summary>
    public CompiledRoute? Route { get; init; }

    public RouteConfig? RouteConfig => Route?.Source;

    /// <summary>How the route's upstream request is shaped; stages add what they need dropped or rewritten.</summary>
    public UpstreamShapeBuilder? Upstream { get; init; }

    /// <summary>The route table (for request stages, compiled after the routes).</summary>
    public RouteMatcher? Matcher { get; init; }

    /// <summary>Every compiled route (for request stages, compiled after the routes).</summary>
    public IReadOnlyList<CompiledRoute> Routes { get; init; } = [];
}
