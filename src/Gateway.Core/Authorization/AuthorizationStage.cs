using Gateway.Authentication;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Authorization;

/// <summary>Authorization stage: 403 when the identity lacks a scope, role or claim the route requires.</summary>
internal sealed class AuthorizationStage : Stage<AuthPolicy>
{
    protected override AuthPolicy? CompilePolicy(StageCompilation compilation) =>
        compilation.Route!.Policy<AuthPolicy>() is { HasAuthorization: true } policy ? policy : null;

    protected override ValueTask<bool> Request(Exchange exchange, AuthPolicy policy)
    {
        if (Decide(exchange, policy) is { } refusal)
        {
            exchange.Respond(refusal);
            return Stop;
        }

        return Next;
    }

    /// <summary>The refusal (401 without identity, 403 without the rights), or null when the identity may pass.</summary>
    public static Answer? Decide(Exchange exchange, AuthPolicy policy)
    {
        if (exchange.Identity is not { } identity)
        {
            return Problems.Create(exchange, StatusCodes.Status401Unauthorized, AnswerReasons.Auth("missing"), "urn:gateway:problem:unauthorized", "Unauthorized",
                "This route needs credentials.", HeaderNames.WWWAuthenticate, policy.Challenge);
        }

        if (Authorizer.Refusal(policy, identity) is { } refusal)
        {
            policy.Services.Metrics.Forbidden(identity.Method);
            return Problems.Create(exchange, StatusCodes.Status403Forbidden, refusal.Reason, "urn:gateway:problem:forbidden", "Forbidden", refusal.Detail);
        }

        return null;
    }
}
