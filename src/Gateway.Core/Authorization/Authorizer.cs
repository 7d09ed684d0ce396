using Gateway.Authentication;
using Gateway.Pipeline;

namespace Gateway.Authorization;

/// <summary>
/// A route's authorization: every scope of <c>scopes</c>, any role of <c>roles</c>, and for each of <c>claims</c>
/// a claim value among the listed ones. Returns why access is refused, or null.
/// </summary>
internal static class Authorizer
{
    public static AuthorizationRefusal? Refusal(AuthPolicy policy, Identity identity)
    {
        foreach (var scope in policy.Scopes)
        {
            if (!identity.Scopes.Contains(scope))
            {
                return new(AnswerReasons.ForbiddenScope, $"The credential lacks the scope '{scope}'.");
            }
        }

        if (policy.Roles.Length > 0 && !policy.Roles.Any(identity.Roles.Contains))
        {
            return new(AnswerReasons.ForbiddenRole, "The credential has none of the roles this route accepts.");
        }

        foreach (var requirement in policy.Claims)
        {
            if (!identity.Claim(requirement.Claim).Any(requirement.Values.Contains))
            {
                return new(AnswerReasons.ForbiddenClaim, $"The credential's '{requirement.Claim}' claim is not one this route accepts.");
            }
        }

        return null;
    }
}

/// <summary>Why an identity may not pass: the access log's code and the words the client gets.</summary>
internal readonly record struct AuthorizationRefusal(string Reason, string Detail);
