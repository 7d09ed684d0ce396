using Gateway.Authentication;
using Gateway.Authorization;
using Gateway.Forwarding;
using Gateway.RateLimiting;
using Gateway.Pipeline;
using Gateway.Routing;

namespace Gateway.Tests.Pipeline;

/// <summary>The pipeline order is the contract's (SPEC section 3) and is written in one place.</summary>
public sealed class PipelineOrderTests
{
    [Fact]
    public void Stages_run_in_the_contract_order()
    {
        Assert.Equal(
            [
                typeof(RequestContextMiddleware), typeof(LimitsMiddleware), typeof(RouteMatchMiddleware),
                typeof(AuthenticationMiddleware), typeof(AuthorizationMiddleware), typeof(RateLimitMiddleware), typeof(ForwardMiddleware),
            ],
            GatewayPipeline.Stages);
    }
}
