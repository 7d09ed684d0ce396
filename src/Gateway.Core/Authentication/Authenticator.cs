using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Authentication;

/// <summary>What authentication decided for a request under a route's policy.</summary>
internal readonly record struct AuthDecision(int Status, Identity? Identity, AuthResult? Failure, string? Challenge)
{
    public bool Allowed => Status == StatusCodes.Status200OK;
}

/// <summary>
/// Runs a route's authentication (shared by the live pipeline and the offline tools). Every credential the
/// request presents must be valid: a bearer token (from <c>Authorization</c>, or the route's cookie or query
/// parameter) and an API key are both checked when both are sent, and one refused credential refuses the
/// request. A credential sent twice is refused as ambiguous, since the backend might read the other copy.
/// </summary>
internal static class Authenticator
{
    public static async ValueTask<AuthDecision> AuthenticateAsync(HttpRequest request, AuthPolicy policy, AuthServices services, bool offline)
    {
        var token = policy.AllowJwt ? ReadToken(request, policy) : Credential.None;
        var key = policy.AllowApiKey ? Single(request.Headers[services.ApiKey!.Header]) : Credential.None;
        if (token.Duplicated || key.Duplicated)
        {
            AuthMetrics.Failure(token.Duplicated ? JwtAuthenticator.MethodName : ApiKeyAuthenticator.MethodName, "duplicated");
            return new AuthDecision(StatusCodes.Status401Unauthorized, null,
                AuthResult.Invalid("duplicated", "A credential was sent more than once; send it once."),
                policy.Challenge.Replace("Bearer realm=\"gateway\"", "Bearer realm=\"gateway\", error=\"invalid_request\"", StringComparison.Ordinal));
        }

        if (token.Value is null && key.Value is null)
        {
            if (!policy.Required)
            {
                return new AuthDecision(StatusCodes.Status200OK, null, null, null);
            }

            AuthMetrics.Failure(policy.AllowJwt ? JwtAuthenticator.MethodName : ApiKeyAuthenticator.MethodName, "missing");
            return new AuthDecision(StatusCodes.Status401Unauthorized, null,
                AuthResult.Invalid("missing", "This route needs credentials: " + Needed(policy) + "."), policy.Challenge);
        }

        Identity? identity = null;
        AuthResult? failure = null;
        var failedToken = false;
        if (token.Value is not null)
        {
            var result = await services.Jwt!.AuthenticateAsync(token.Value, offline).ConfigureAwait(false);
            identity = Record(JwtAuthenticator.MethodName, result);
            if (identity is null)
            {
                failure = result;
                failedToken = true;
            }
        }

        if (key.Value is not null)
        {
            var result = await services.ApiKey!.AuthenticateAsync(key.Value, offline).ConfigureAwait(false);
            var keyIdentity = Record(ApiKeyAuthenticator.MethodName, result);
            identity ??= keyIdentity;
            if (keyIdentity is null && (failure is null || result.Outcome == AuthOutcome.Unavailable))
            {
                failure = result;
                failedToken = false;
            }
        }

        if (failure is null)
        {
            return new AuthDecision(StatusCodes.Status200OK, identity, null, null);
        }

        var refused = failure.Value;
        if (refused.Outcome == AuthOutcome.Unavailable)
        {
            return new AuthDecision(StatusCodes.Status503ServiceUnavailable, null, refused, null);
        }

        var challenge = failedToken
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

    /// <summary>The bearer token from Authorization, else the route's cookie, else its query parameter.</summary>
    private static Credential ReadToken(HttpRequest request, AuthPolicy policy)
    {
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 1)
        {
            return Credential.Twice;
        }

        if (authorization.Count == 1 && authorization[0] is { Length: > 7 } header && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = header[7..].Trim();
            if (token.Length > 0)
            {
                return new Credential(token, false);
            }
        }

        if (policy.TokenCookie is { } cookie && Cookies.Find(request.Headers.Cookie, cookie) is { } fromCookie)
        {
            return fromCookie;
        }

        if (policy.TokenQuery is { } query)
        {
            var fromQuery = Single(request.Query[query]);
            if (fromQuery.Value is not null || fromQuery.Duplicated)
            {
                return fromQuery;
            }
        }

        return Credential.None;
    }

    private static Credential Single(StringValues values) => values.Count switch
    {
        0 => Credential.None,
        1 => string.IsNullOrEmpty(values[0]) ? Credential.None : new Credential(values[0], false),
        _ => Credential.Twice,
    };
}

/// <summary>A credential as found in the request: its value, or the fact that it came more than once.</summary>
internal readonly record struct Credential(string? Value, bool Duplicated)
{
    public static readonly Credential None = new(null, false);

    public static readonly Credential Twice = new(null, true);
}
