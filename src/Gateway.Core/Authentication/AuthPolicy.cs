using Gateway.Configuration;

namespace Gateway.Authentication;

/// <summary>A claim a route requires: the claim (or any element of it) must be one of the values.</summary>
internal sealed record ClaimRequirement(string Claim, string[] Values);

/// <summary>A route's authentication and authorization, compiled once from its <c>auth</c> block.</summary>
internal sealed class AuthPolicy
{
    public AuthPolicy(RouteAuthConfig route, AuthConfig? global, AuthServices services, bool clientCertificates = false)
    {
        Services = services;
        var methods = route.Methods;
        Required = route.Required;
        AllowJwt = global?.Jwt is not null && (methods.Count == 0 || methods.Contains("jwt"));
        AllowApiKey = global?.ApiKey is not null && (methods.Count == 0 || methods.Contains("apikey") || methods.Contains("api_key"));
        AllowMtls = clientCertificates && (methods.Count == 0 || methods.Contains("mtls"));
        TokenCookie = route.TokenCookie;
        TokenQuery = route.TokenQuery;
        ForwardAuthorization = route.ForwardAuthorization;
        Scopes = [.. route.Scopes ?? []];
        Roles = [.. route.Roles ?? []];
        Claims = [.. (route.Claims ?? []).Select(pair => new ClaimRequirement(pair.Key, [.. pair.Value.Values]))];
        ApiKeyHeader = global?.ApiKey?.Header;
        var challenges = new List<string>();
        if (AllowJwt || !(AllowApiKey || AllowMtls))
        {
            challenges.Add("Bearer realm=\"gateway\"");
        }

        if (AllowApiKey)
        {
            challenges.Add($"ApiKey realm=\"gateway\", header=\"{ApiKeyHeader}\"");
        }

        if (AllowMtls && challenges.Count == 0)
        {
            // No HTTP scheme asks for a client certificate; a name the client can read says what is missing.
            challenges.Add("Mutual-TLS realm=\"gateway\"");
        }

        Challenge = string.Join(", ", challenges);
    }

    /// <summary>The snapshot's authenticators.</summary>
    public AuthServices Services { get; }

    public bool Required { get; }

    public bool AllowJwt { get; }

    public bool AllowApiKey { get; }

    /// <summary>A verified TLS client certificate is a credential (the listener asks for them, the route accepts <c>mtls</c>).</summary>
    public bool AllowMtls { get; }

    public string? TokenCookie { get; }

    public string? TokenQuery { get; }

    public bool ForwardAuthorization { get; }

    public string[] Scopes { get; }

    public string[] Roles { get; }

    public ClaimRequirement[] Claims { get; }

    public string? ApiKeyHeader { get; }

    /// <summary>The <c>WWW-Authenticate</c> value for a 401 on this route.</summary>
    public string Challenge { get; }

    public bool HasAuthorization => Scopes.Length > 0 || Roles.Length > 0 || Claims.Length > 0;

    public string Describe()
    {
        var methods = (AllowJwt, AllowApiKey) switch
        {
            (true, true) => "jwt|apikey",
            (true, false) => "jwt",
            (false, true) => "apikey",
            _ => AllowMtls ? "" : "none-configured",
        };
        if (AllowMtls)
        {
            methods = methods.Length == 0 ? "mtls" : methods + "|mtls";
        }
        var parts = new List<string> { (Required ? "auth(" : "auth-optional(") + methods + ")" };
        if (Scopes.Length > 0)
        {
            parts.Add("scopes(" + string.Join(',', Scopes) + ")");
        }

        if (Roles.Length > 0)
        {
            parts.Add("roles(" + string.Join('|', Roles) + ")");
        }

        if (Claims.Length > 0)
        {
            parts.Add("claims(" + string.Join(',', Claims.Select(c => c.Claim)) + ")");
        }

        if (!ForwardAuthorization)
        {
            parts.Add("no-forward-authorization");
        }

        return string.Join(' ', parts);
    }
}
