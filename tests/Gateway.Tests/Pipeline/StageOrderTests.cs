using Gateway.Authentication;
using Gateway.Authorization;
using Gateway.Forwarding;
using Gateway.Hosting;
using Gateway.Pipeline;
using Gateway.RateLimiting;
using Gateway.Routing;

namespace Gateway.Tests.Pipeline;

/// <summary>The stage order is the contract's (SPEC section 3) and is written in one place.</summary>
public sealed class StageOrderTests
{
    [Fact]
    public void Stages_run_in_the_contract_order()
    {
        Assert.Equal(
            [
                typeof(RequestContextStage), typeof(Gateway.Observability.TracingStage), typeof(Gateway.Observability.Metrics.MetricsStage), typeof(LimitsStage), typeof(RouteMatchStage), typeof(Gateway.IpFiltering.IpFilterStage), typeof(Gateway.Cors.CorsStage),
                typeof(AuthenticationStage), typeof(AuthorizationStage), typeof(RateLimitStage), typeof(Gateway.Compression.CompressionStage), typeof(Gateway.Caching.CacheStage),
                typeof(Gateway.Transforms.TransformStage), typeof(ForwardStage),
            ],
            GatewayFeatures.Stages.Select(s => s.GetType()));
    }

    [Fact]
    public void Request_stages_come_before_route_stages_and_forwarding_is_last()
    {
        var scopes = GatewayFeatures.Stages.Select(s => s.Scope).ToList();
        var firstRouteStage = scopes.IndexOf(StageScope.Route);
        Assert.True(firstRouteStage > 0);
        Assert.All(scopes.Skip(firstRouteStage), scope => Assert.Equal(StageScope.Route, scope));
        Assert.IsType<ForwardStage>(GatewayFeatures.Stages[^1]);
        Assert.IsType<RouteMatchStage>(GatewayFeatures.Stages[firstRouteStage - 1]);
    }

    [Fact]
    public void Every_feature_is_registered_once()
    {
        Assert.Equal(GatewayFeatures.All.Length, GatewayFeatures.All.Select(f => f.GetType()).Distinct().Count());
        Assert.Contains(GatewayFeatures.All, f => f is ServerFeature);
    }

    [Fact]
    public async Task What_stages_build_once_per_snapshot_is_shared_per_place_that_asks_never_by_type_alone()
    {
        await using var state = Gateway.State.LiveState.ForOffline();
        var compilation = new StageCompilation(new Gateway.Configuration.GatewayConfig(), state, []);
        var first = compilation.Once(static _ => new List<string> { "first" });
        var again = compilation.Once(static _ => new List<string> { "first" });
        Assert.NotSame(first, again);
        Func<StageCompilation, List<string>> shared = static _ => ["shared"];
        Assert.Same(compilation.Once(shared), compilation.Once(shared));
    }
}
