using Gateway.Authentication;
using Gateway.Authorization;
using Gateway.Configuration;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;

namespace Gateway.Cli;

/// <summary>What the gateway would do with a request, decided offline with the live pipeline's own rules.</summary>
internal sealed record OfflineOutcome(RouteResolution Resolution, int Status, string? Detail, Identity? Identity, AuthDecision? Auth)
{
    /// <summary>The request would reach the backend (or the mock).</summary>
    public bool Passes => Status == StatusCodes.Status200OK;
}

internal static class OfflineEvaluation
{
    public static async Task<OfflineOutcome> EvaluateAsync(RuntimeConfig runtime, HttpContext context, string rawTarget)
    {
        var resolution = RouteResolver.Resolve(runtime, context.Request, rawTarget);
        if (!resolution.IsRouted || resolution.Route!.Auth is not { } policy)
        {
            return new OfflineOutcome(resolution, resolution.Status, resolution.Detail, null, null);
        }

        var decision = await Authenticator.AuthenticateAsync(context.Request, policy, runtime.Auth, offline: true);
        if (!decision.Allowed)
        {
            return new OfflineOutcome(resolution, decision.Status, decision.Failure?.Detail, null, decision);
        }

        if (policy.HasAuthorization)
        {
            if (decision.Identity is null)
            {
                return new OfflineOutcome(resolution, StatusCodes.Status401Unauthorized, "This route needs credentials.", null, decision);
            }

            if (Authorizer.Refusal(policy, decision.Identity) is { } refusal)
            {
                return new OfflineOutcome(resolution, StatusCodes.Status403Forbidden, refusal, decision.Identity, decision);
            }
        }

        return new OfflineOutcome(resolution, StatusCodes.Status200OK, null, decision.Identity, decision);
    }
}
