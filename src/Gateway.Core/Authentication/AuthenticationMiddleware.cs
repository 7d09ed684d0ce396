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
        if (policy is null)
        {
            return next(context);
        }

        // Static keys and in-memory API keys decide synchronously: no state machine on the common path.
        var pending = Authenticator.AuthenticateAsync(context.Request, policy, feature.Config.Auth, offline: false);
        return pending.IsCompletedSuccessfully ? Continue(context, feature, pending.Result) : AwaitAsync(context, feature, pending);
    }

    private async Task AwaitAsync(HttpContext context, GatewayRequestFeature feature, ValueTask<AuthDecision> pending) =>
        await Continue(context, feature, await pending.ConfigureAwait(false)).ConfigureAwait(false);

    private Task Continue(HttpContext context, GatewayRequestFeature feature, AuthDecision decision)
    {
        if (decision.Allowed)
        {
            feature.Identity = decision.Identity;
            feature.User = decision.Identity?.Subject;
            return next(context);
        }

        return Refuse(context, decision);
    }

    private static async Task Refuse(HttpContext context, AuthDecision decision)
    {
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
