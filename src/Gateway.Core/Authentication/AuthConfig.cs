namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public AuthConfig? Auth { get; init; }
}

internal sealed partial record RouteConfig
{
    public RouteAuthConfig? Auth { get; init; }
}

internal sealed record AuthConfig
{
    public JwtConfig? Jwt { get; init; }
    public ApiKeyConfig? ApiKey { get; init; }

    /// <summary>Headers set on the upstream request from the identity: header name to source.</summary>
    public Dictionary<string, string>? IdentityHeaders { get; init; }
}

internal sealed record JwtConfig
{
    [Secret] public string? Secret { get; init; }
    public string? PublicKey { get; init; }
    [KnownValues("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384")] public string Algorithm { get; init; } = "HS256";
    public string? Issuer { get; init; }
    public StringList? Audience { get; init; }
    public string? JwksUrl { get; init; }
    public string? OidcIssuer { get; init; }
    public double ClockSkewSecs { get; init; } = 30;
    public List<string>? RequiredClaims { get; init; }
    public string RolesClaim { get; init; } = "roles";
}

internal sealed record ApiKeyConfig
{
    public string Header { get; init; } = "X-API-Key";
    [Secret] public Dictionary<string, ApiKeyEntry> Keys { get; init; } = [];
    public RedisConfig? Redis { get; init; }
    public double CacheSecs { get; init; } = 5;
}

/// <summary>What the gateway knows about an API key: written as just its name, or with roles and a tier.</summary>
[ScalarForm(nameof(Name))]
internal sealed record ApiKeyEntry
{
    public string Name { get; init; } = "";
    public List<string> Roles { get; init; } = [];
    public string? Tier { get; init; }
}

internal sealed record RouteAuthConfig
{
    public bool Required { get; init; }
    [KnownValues("jwt", "apikey", "api_key", "mtls")] public List<string> Methods { get; init; } = [];
    public List<string>? Scopes { get; init; }
    public List<string>? Roles { get; init; }
    public Dictionary<string, StringList>? Claims { get; init; }
    public bool ForwardAuthorization { get; init; } = true;
    public string? TokenCookie { get; init; }
    public string? TokenQuery { get; init; }
}
