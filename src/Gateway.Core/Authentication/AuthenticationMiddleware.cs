using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Gateway.Authentication;

/// <summary>Authentication stage: 401 with <c>WWW-Authenticate</c> for missing or invalid credentials, 503 when they cannot be checked now.</summary>
internal sealed class AuthenticationMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<GatewayRequestFeature>();
        var policy = feature.Route!.Auth;
        return policy is null ? next(context) : AuthenticateAsync(context, feature, policy);
    }

    private async Task AuthenticateAsync(HttpContext context, GatewayRequestFeature feature, AuthPolicy policy)
    {
        var decision = await Authenticator.AuthenticateAsync(context.Request, policy, feature.Config.Auth, offline: false).ConfigureAwait(false);
        if (decision.Allowed)
        {
            feature.Identity = decision.Identity;
            feature.User = decision.Identity?.Subject;
            await next(context).ConfigureAwait(false);
            return;
        }

        if (decision.Status == StatusCodes.Status503ServiceUnavailable)
        {
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "urn:gateway:problem:auth-unavailable", "Service Unavailable",
                decision.Failure!.Value.Detail, HeaderNames.RetryAfter, "5").ConfigureAwait(false);
            return;
        }

        await Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, "urn:gateway:problem:unauthorized", "Unauthorized",
            decision.Failure!.Value.Detail, HeaderNames.WWWAuthenticate, decision.Challenge).ConfigureAwait(false);
    }
}
