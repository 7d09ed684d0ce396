using Gateway.Authentication;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Gateway.Authorization;

/// <summary>Authorization stage: 403 when the identity lacks a scope, role or claim the route requires.</summary>
internal sealed class AuthorizationMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<GatewayRequestFeature>();
        var policy = feature.Route!.Auth;
        if (policy is null || !policy.HasAuthorization)
        {
            return next(context);
        }

        if (feature.Identity is not { } identity)
        {
            return Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, "urn:gateway:problem:unauthorized", "Unauthorized",
                "This route needs credentials.", HeaderNames.WWWAuthenticate, policy.Challenge);
        }

        if (Authorizer.Refusal(policy, identity) is { } reason)
        {
            AuthMetrics.Forbidden(identity.Method);
            return Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "urn:gateway:problem:forbidden", "Forbidden", reason);
        }

        return next(context);
    }
}
