using Microsoft.AspNetCore.Http;

namespace Gateway.Authentication;

/// <summary>What authentication decided for a request under a route's policy.</summary>
internal readonly record struct AuthDecision(int Status, Identity? Identity, AuthResult? Failure, string? Challenge)
{
    public bool Allowed => Status == StatusCodes.Status200OK;
}

/// <summary>
/// Runs a route's authentication (shared by the live pipeline and the offline tools): a bearer token (from
/// <c>Authorization</c>, or the route's cookie or query parameter) and an API key, in that order; the first valid
/// credential wins, an invalid one is never skipped over silently.
/// </summary>
internal static class Authenticator
{
    public static async ValueTask<AuthDecision> AuthenticateAsync(HttpRequest request, AuthPolicy policy, AuthServices services, bool offline)
    {
        var token = policy.AllowJwt ? ReadToken(request, policy) : null;
        var key = policy.AllowApiKey ? ReadSingle(request.Headers[services.ApiKey!.Header]) : null;
        if (token is null && key is null)
        {
            if (!policy.Required)
            {
                return new AuthDecision(StatusCodes.Status200OK, null, null, null);
            }

            AuthMetrics.Failure(policy.AllowJwt ? JwtAuthenticator.MethodName : ApiKeyAuthenticator.MethodName, "missing");
            return new AuthDecision(StatusCodes.Status401Unauthorized, null,
                AuthResult.Invalid("missing", "This route needs credentials: " + Needed(policy) + "."), policy.Challenge);
        }

        AuthResult? failure = null;
        if (token is not null)
        {
            var result = await services.Jwt!.AuthenticateAsync(token, offline).ConfigureAwait(false);
            if (Record(JwtAuthenticator.MethodName, result) is { } identity)
            {
                return new AuthDecision(StatusCodes.Status200OK, identity, null, null);
            }

            failure = result;
        }

        if (key is not null)
        {
            var result = await services.ApiKey!.AuthenticateAsync(key, offline).ConfigureAwait(false);
            if (Record(ApiKeyAuthenticator.MethodName, result) is { } identity)
            {
                return new AuthDecision(StatusCodes.Status200OK, identity, null, null);
            }

            failure ??= result;
            if (failure.Value.Outcome != AuthOutcome.Unavailable && result.Outcome == AuthOutcome.Unavailable)
            {
                failure = result;
            }
        }

        var refused = failure!.Value;
        if (refused.Outcome == AuthOutcome.Unavailable)
        {
            return new AuthDecision(StatusCodes.Status503ServiceUnavailable, null, refused, null);
        }

        var challenge = token is not null
            ? policy.Challenge.Replace("Bearer realm=\"gateway\"", $"Bearer realm=\"gateway\", error=\"invalid_token\", error_description=\"{refused.Detail}\"", StringComparison.Ordinal)
            : policy.Challenge;
        return new AuthDecision(StatusCodes.Status401Unauthorized, null, refused, challenge);
    }

    private static Identity? Record(string method, AuthResult result)
    {
        if (result.Outcome == AuthOutcome.Success)
        {
            AuthMetrics.Success(method);
            return result.Identity;
        }

        AuthMetrics.Failure(method, result.Reason);
        return null;
    }

    private static string Needed(AuthPolicy policy) => (policy.AllowJwt, policy.AllowApiKey) switch
    {
        (true, true) => $"a bearer token or an API key in {policy.ApiKeyHeader}",
        (true, false) => "a bearer token",
        (false, true) => $"an API key in {policy.ApiKeyHeader}",
        _ => "a method this gateway is not configured for",
    };

    private static string? ReadToken(HttpRequest request, AuthPolicy policy)
    {
        var authorization = ReadSingle(request.Headers.Authorization);
        if (authorization is not null && authorization.Length > 7 && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization[7..].Trim();
            return token.Length > 0 ? token : null;
        }

        if (policy.TokenCookie is { } cookie && request.Cookies.TryGetValue(cookie, out var fromCookie) && !string.IsNullOrEmpty(fromCookie))
        {
            return fromCookie;
        }

        if (policy.TokenQuery is { } query && ReadSingle(request.Query[query]) is { Length: > 0 } fromQuery)
        {
            return fromQuery;
        }

        return null;
    }

    private static string? ReadSingle(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
}
