using Microsoft.IdentityModel.JsonWebTokens;

namespace Gateway.Authentication;

/// <summary>Who made a request, as established by one authentication method.</summary>
internal sealed class Identity
{
    public required string Method { get; init; }

    /// <summary>The user for logs: the token's <c>sub</c>, or the API key's name.</summary>
    public string? Subject { get; init; }

    public IReadOnlyList<string> Roles { get; init; } = [];

    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>The validated token, for claim checks and claim headers (null for API keys).</summary>
    public JsonWebToken? Token { get; init; }

    public ApiKeyIdentity? ApiKey { get; init; }

    /// <summary>The TLS client certificate's fields (the <c>mtls</c> method), or null.</summary>
    public CertificateIdentity? Certificate { get; init; }

    /// <summary>The values of a claim as strings (arrays flattened), or empty.</summary>
    public IReadOnlyList<string> Claim(string name) =>
        Token is not null ? JwtClaims.Values(Token, name) : Certificate is not null ? Certificate.Claim(name) : [];

    private HeaderCache? _headers;

    /// <summary>
    /// The upstream headers these rules make of this identity, worked out once: an API key's identity lives as long as
    /// the config and serves every request made with that key.
    /// </summary>
    public KeyValuePair<string, string>[] HeadersFor(IdentityHeaders rules)
    {
        if (_headers is { } cached && ReferenceEquals(cached.Rules, rules))
        {
            return cached.Headers;
        }

        var headers = rules.For(this);
        _headers = new HeaderCache(rules, headers);
        return headers;
    }

    /// <summary>One reference, so that threads reading and replacing it never see a torn pair.</summary>
    private sealed record HeaderCache(IdentityHeaders Rules, KeyValuePair<string, string>[] Headers);
}

/// <summary>The metadata of a known API key (never the key itself); <c>Id</c> is the start of its hash.</summary>
internal sealed record ApiKeyIdentity(string Id, string Name, IReadOnlyList<string> Roles, string? Tier);
