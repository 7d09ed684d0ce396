using Gateway.Authentication;
using Gateway.Authorization;
using Gateway.Forwarding;
using Gateway.RateLimiting;
using Gateway.Routing;
using Microsoft.AspNetCore.Builder;

namespace Gateway.Pipeline;

/// <summary>
/// The order of the request pipeline, written in this one place (SPEC section 3). Each stage may answer
/// early. Stages of features not built yet are absent, not stubbed.
/// </summary>
internal static class GatewayPipeline
{
    /// <summary>The stages in the order they run.</summary>
    public static readonly Type[] Stages =
    [
        typeof(RequestContextMiddleware), // request id + trace + access log (wraps everything after it)
        typeof(LimitsMiddleware),         // URI, header and body limits
        typeof(RouteMatchMiddleware),     // normalization, route match, 404/405
        typeof(AuthenticationMiddleware), // JWT / API key, 401
        typeof(AuthorizationMiddleware),  // scopes, roles, claims, 403
        typeof(RateLimitMiddleware),      // global and route limits, 429
        typeof(ForwardMiddleware),        // mock answer or forward (timeout, 502/504)
    ];

    public static IApplicationBuilder UseGatewayPipeline(this IApplicationBuilder app)
    {
        foreach (var stage in Stages)
        {
            app.UseMiddleware(stage);
        }

        return app;
    }
}
