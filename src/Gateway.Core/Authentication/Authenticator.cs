using System.Runtime.CompilerServices;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Authentication;

/// <summary>What authentication decided for a request under a route's policy.</summary>
internal readonly record struct AuthDecision(int Status, Identity? Identity, AuthResult? Failure, string? Challenge)
{
    public bool Allowed => Status == StatusCodes.Status200OK;
}

/// <summary>
/// Runs a route's authentication (the stage's decision, shared with the offline verbs). Every credential the request
/// presents in any source the route reads is checked: a bearer token in <c>Authorization</c>, in the route's cookie
/// and in its query parameter, and an API key. One refused credential refuses the request, and so do valid
/// credentials that name different callers: a backend might read any of them. A credential sent twice in one source
/// is refused as ambiguous for the same reason.
/// </summary>
internal static class Authenticator
{
    private const int MaxCredentials = 4;

    /// <summary>The TLS client certificate as a method (metrics, logs, <c>auth.methods</c>).</summary>
    public const string MtlsMethod = "mtls";

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<AuthDecision> AuthenticateAsync(Exchange exchange, AuthPolicy policy, bool offline)
    {
        var services = policy.Services;
        var found = default(PresentedList);
        var count = 0;
        var duplicated = (string?)null;
        if (policy.AllowJwt)
        {
            Collect(ReadBearer(exchange.RequestHeaders.Authorization), JwtAuthenticator.MethodName, found, ref count, ref duplicated);
            if (policy.TokenCookie is { } cookie)
            {
                Collect(Cookies.Find(exchange.RequestHeaders.Cookie, cookie) ?? Credential.None, JwtAuthenticator.MethodName, found, ref count, ref duplicated);
            }

            if (policy.TokenQuery is { } query)
            {
                Collect(Single(exchange.QueryValue(query)), JwtAuthenticator.MethodName, found, ref count, ref duplicated);
            }
        }

        if (policy.AllowApiKey)
        {
            Collect(Single(exchange.RequestHeaders[services.ApiKey!.Header]), ApiKeyAuthenticator.MethodName, found, ref count, ref duplicated);
        }

        if (duplicated is not null)
        {
            services.Metrics.Failure(duplicated, "duplicated");
            return new AuthDecision(StatusCodes.Status401Unauthorized, null,
                AuthResult.Invalid("duplicated", "A credential was sent more than once; send it once."),
                policy.Challenge.Replace("Bearer realm=\"gateway\"", "Bearer realm=\"gateway\", error=\"invalid_request\"", StringComparison.Ordinal));
        }

        if (count == 0 && policy.AllowMtls && exchange.ClientCertificate is { } certificate)
        {
            // The certificate was verified in the handshake; it is the credential when the request carries no other
            // (a token or key, when sent, names the caller and the certificate only secures the connection).
            services.Metrics.Success(MtlsMethod);
            var fields = CertificateIdentity.From(certificate);
            return new AuthDecision(StatusCodes.Status200OK, new Identity { Method = MtlsMethod, Subject = fields.Subject, Certificate = fields }, null, null);
        }

        if (count == 0)
        {
            if (!policy.Required)
            {
                return new AuthDecision(StatusCodes.Status200OK, null, null, null);
            }

            services.Metrics.Failure(policy.AllowJwt ? JwtAuthenticator.MethodName : policy.AllowApiKey ? ApiKeyAuthenticator.MethodName : MtlsMethod, "missing");
            return new AuthDecision(StatusCodes.Status401Unauthorized, null,
                AuthResult.Invalid("missing", "This route needs credentials: " + Needed(policy) + "."), policy.Challenge);
        }

        Identity? identity = null;
        AuthResult? refused = null;
        AuthResult? unavailable = null;
        var refusedToken = false;
        for (var i = 0; i < count; i++)
        {
            var credential = found[i];
            var result = credential.Method == JwtAuthenticator.MethodName
                ? await services.Jwt!.AuthenticateAsync(credential.Value, offline).ConfigureAwait(false)
                : await services.ApiKey!.AuthenticateAsync(credential.Value, offline).ConfigureAwait(false);
            var verified = Record(services.Metrics, credential.Method, result);
            if (verified is null)
            {
                if (result.Outcome == AuthOutcome.Unavailable)
                {
                    unavailable ??= result;
                }
                else if (refused is null)
                {
                    refused = result;
                    refusedToken = credential.Method == JwtAuthenticator.MethodName;
                }

                continue;
            }

            if (identity is null)
            {
                identity = verified;
            }
            else if (identity.Subject is null || !string.Equals(identity.Subject, verified.Subject, StringComparison.Ordinal))
            {
                services.Metrics.Failure(credential.Method, "conflicting");
                refused ??= AuthResult.Invalid("conflicting", "The request carries credentials of different callers; send one caller's.");
            }
        }

        if (refused is { } invalid)
        {
            var challenge = refusedToken
                ? policy.Challenge.Replace("Bearer realm=\"gateway\"", $"Bearer realm=\"gateway\", error=\"invalid_token\", error_description=\"{invalid.Detail}\"", StringComparison.Ordinal)
                : policy.Challenge;
            return new AuthDecision(StatusCodes.Status401Unauthorized, null, invalid, challenge);
        }

        if (unavailable is { } down)
        {
            return new AuthDecision(StatusCodes.Status503ServiceUnavailable, null, down, null);
        }

        return new AuthDecision(StatusCodes.Status200OK, identity, null, null);
    }

    private static void Collect(Credential credential, string method, Span<Presented> found, ref int count, ref string? duplicated)
    {
        if (credential.Duplicated)
        {
            duplicated ??= method;
            return;
        }

        if (credential.Value is not { } value || (value.Length == 0 && method != JwtAuthenticator.MethodName))
        {
            return;
        }

        // The same token in two sources is one credential: it is checked once.
        foreach (var existing in found[..count])
        {
            if (existing.Method == method && existing.Value == value)
            {
                return;
            }
        }

        found[count++] = new Presented(method, value);
    }

    private static Identity? Record(AuthMetrics metrics, string method, AuthResult result)
    {
        if (result.Outcome == AuthOutcome.Success)
        {
            metrics.Success(method);
            return result.Identity;
        }

        metrics.Failure(method, result.Reason);
        return null;
    }

    private static string Needed(AuthPolicy policy) => (policy.AllowJwt, policy.AllowApiKey) switch
    {
        (true, true) => $"a bearer token or an API key in {policy.ApiKeyHeader}" + (policy.AllowMtls ? " or a TLS client certificate" : ""),
        (true, false) => "a bearer token" + (policy.AllowMtls ? " or a TLS client certificate" : ""),
        (false, true) => $"an API key in {policy.ApiKeyHeader}" + (policy.AllowMtls ? " or a TLS client certificate" : ""),
        _ => policy.AllowMtls ? "a TLS client certificate issued by the client CA" : "a method this gateway is not configured for",
    };

    /// <summary>
    /// The bearer token of <c>Authorization</c>: the scheme is what comes before the first space or tab, in any case. A
    /// <c>Bearer</c> header with nothing usable after it is a credential that fails (401), never one that passes
    /// unchecked. Another scheme is not a bearer credential and is left to the backend (forwarded or dropped like any
    /// Authorization header).
    /// </summary>
    private static Credential ReadBearer(StringValues authorization)
    {
        if (authorization.Count > 1)
        {
            return Credential.Twice;
        }

        if (authorization.Count == 0 || authorization[0] is not { } header)
        {
            return Credential.None;
        }

        var end = header.AsSpan().IndexOfAny(' ', '\t');
        var scheme = end < 0 ? header : header[..end];
        if (!scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return Credential.None;
        }

        return new Credential(end < 0 ? "" : header[(end + 1)..].Trim(' ', '\t'), false);
    }

    private static Credential Single(StringValues values) => values.Count switch
    {
        0 => Credential.None,
        1 => string.IsNullOrEmpty(values[0]) ? Credential.None : new Credential(values[0], false),
        _ => Credential.Twice,
    };

    private readonly record struct Presented(string Method, string Value);

    /// <summary>The credentials of one request, held in the method's own state instead of an array per request.</summary>
    [InlineArray(MaxCredentials)]
    private struct PresentedList
    {
        private Presented _first;
    }
}

/// <summary>A credential as found in the request: its value, or the fact that it came more than once.</summary>
internal readonly record struct Credential(string? Value, bool Duplicated)
{
    public static readonly Credential None = new(null, false);

    public static readonly Credential Twice = new(null, true);
}
