using System.Text;

using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Authentication;

/// <summary>JWT and API-key settings, and routes that ask for an authentication method.</summary>
internal static class AuthValidator
{
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Authorization", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Content-Length", "Content-Type", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Request-Id",
        "traceparent", "tracestate", "Cookie",
    };

    private static int HashBytes(string algorithm) => algorithm switch
    {
        "HS384" => 48,
        "HS512" => 64,
        _ => 32,
    };

    internal static readonly string[] Algorithms = KnownValuesAttribute.Of<JwtConfig>(nameof(JwtConfig.Algorithm));

    private static readonly string[] AuthMethods = KnownValuesAttribute.Of<RouteAuthConfig>(nameof(RouteAuthConfig.Methods));

    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        var jwt = config.Auth?.Jwt;
        var apiKey = config.Auth?.ApiKey;
        if (jwt is not null)
        {
            ValidateJwt(jwt, d);
        }

        if (apiKey is not null)
        {
            ValidationRules.HeaderName(d, "auth.api_key.header", apiKey.Header);
            var index = 0;
            foreach (var (key, entry) in apiKey.Keys)
            {
                var keyPath = $"auth.api_key.keys[{index}]";
                if (string.IsNullOrWhiteSpace(key) || key.Trim() != key)
                {
                    d.Error(keyPath, "an API key must not be empty or have surrounding spaces");
                }
                else if (key.Length > Authentication.ApiKeyHash.MaxKeyLength)
                {
                    d.Error(keyPath, $"an API key must be at most {Authentication.ApiKeyHash.MaxKeyLength} characters");
                }
                else if (key.Length < 8)
                {
                    d.Warning(keyPath, $"the key named '{entry.Name}' is shorter than 8 characters and easy to guess");
                }

                if (string.IsNullOrWhiteSpace(entry.Name))
                {
                    d.Error(keyPath + ".name", "every API key needs a name (it identifies the caller in logs and headers)");
                }
                else if (!Authentication.IdentityHeaders.IsSafe(entry.Name) || entry.Name.Contains(',', StringComparison.Ordinal))
                {
                    d.Error(keyPath + ".name", "a key's name must be printable ASCII without commas (it is sent in a header)");
                }

                index++;
            }

            ValidationRules.NotNegative(d, "auth.api_key.cache_secs", apiKey.CacheSecs);
            if (apiKey.Redis is { } redis)
            {
                ValidationRules.Redis(d, "auth.api_key.redis", redis);
            }
        }

        if (config.Auth?.IdentityHeaders is { } identityHeaders)
        {
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (header, source) in identityHeaders)
            {
                if (!seen.Add(header.Replace('_', '-')))
                {
                    d.Error($"auth.identity_headers.{header}", $"'{header}' is listed twice (header names ignore case, and '_' reads as '-')");
                }

                if (apiKey is not null && string.Equals(header, apiKey.Header, StringComparison.OrdinalIgnoreCase))
                {
                    d.Error($"auth.identity_headers.{header}", "is the API-key header; it cannot also carry identity");
                }

                var path = $"auth.identity_headers.{header}";
                ValidationRules.HeaderName(d, path, header);
                if (ReservedHeaders.Contains(header))
                {
                    d.Error(path, $"'{header}' is set by the gateway or the protocol and cannot carry identity");
                }

                if (!Authentication.IdentityHeaders.IsValidSource(source))
                {
                    d.Error(path, $"'{source}' must be claim:NAME, subject, roles, scopes, key:name or key:tier");
                }
            }
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Auth is not { } auth)
            {
                continue;
            }

            if ((auth.TokenCookie is not null || auth.TokenQuery is not null) && jwt is null)
            {
                d.Warning($"routes[{i}].auth", "token_cookie and token_query read bearer tokens, but auth.jwt is not configured");
            }

            if (auth.TokenCookie is { } cookie && !ValidationRules.IsToken(cookie))
            {
                d.Error($"routes[{i}].auth.token_cookie", $"'{cookie}' is not a valid cookie name");
            }

            if (auth.TokenQuery is { Length: 0 })
            {
                d.Error($"routes[{i}].auth.token_query", "must name a query parameter");
            }

            foreach (var (claim, values) in auth.Claims ?? [])
            {
                if (values.Values.Count == 0)
                {
                    d.Error($"routes[{i}].auth.claims.{claim}", "must list at least one accepted value");
                }
            }

            var path = $"routes[{i}].auth";
            for (var j = 0; j < auth.Methods.Count; j++)
            {
                var method = auth.Methods[j];
                ValidationRules.OneOf(d, $"{path}.methods[{j}]", method, AuthMethods);
                // Kept loadable for configs of the earlier gateway; such a method can never succeed.
                if (method == "jwt" && jwt is null)
                {
                    d.Warning($"{path}.methods[{j}]", "jwt is asked for, but auth.jwt is not configured: no token can pass");
                }
                else if (method is "apikey" or "api_key" && apiKey is null)
                {
                    d.Warning($"{path}.methods[{j}]", "apikey is asked for, but auth.api_key is not configured: no key can pass");
                }
                else if (method == "mtls" && config.Tls is not ({ EnableMtls: true } or { RequireClientCert: true }))
                {
                    d.Warning($"{path}.methods[{j}]", "mtls is asked for, but tls.enable_mtls is not set: no client certificate can pass");
                }
            }

            if (auth.Required && auth.Methods.Count == 0 && jwt is null && apiKey is null && config.Tls is not ({ EnableMtls: true } or { RequireClientCert: true }))
            {
                d.Error(path, "authentication is required, but neither auth.jwt nor auth.api_key is configured");
            }

            if (!auth.Required && (auth.Scopes is { Count: > 0 } || auth.Roles is { Count: > 0 } || auth.Claims is { Count: > 0 }))
            {
                d.Warning(path, "scopes, roles and claims need an identity; set required: true");
            }
        }
    }

    private static void ValidateJwt(JwtConfig jwt, ConfigDiagnostics d)
    {
        ValidationRules.OneOf(d, "auth.jwt.algorithm", jwt.Algorithm, Algorithms);
        var symmetric = jwt.Algorithm.StartsWith("HS", StringComparison.Ordinal);
        if (symmetric)
        {
            if (string.IsNullOrEmpty(jwt.Secret))
            {
                d.Error("auth.jwt.secret", $"is required for {jwt.Algorithm}");
            }
            else if (Encoding.UTF8.GetByteCount(jwt.Secret) < HashBytes(jwt.Algorithm))
            {
                d.Warning("auth.jwt.secret", $"is shorter than {HashBytes(jwt.Algorithm)} bytes; {jwt.Algorithm} needs a long random secret");
            }

            if (jwt.PublicKey is not null || jwt.JwksUrl is not null || jwt.OidcIssuer is not null)
            {
                d.Error("auth.jwt.algorithm", $"{jwt.Algorithm} uses 'secret'; public_key, jwks_url and oidc_issuer are for RS/PS/ES algorithms");
            }
        }
        else if (Array.IndexOf(Algorithms, jwt.Algorithm) >= 0)
        {
            if (jwt.PublicKey is null && jwt.JwksUrl is null && jwt.OidcIssuer is null)
            {
                d.Error("auth.jwt", $"{jwt.Algorithm} needs public_key, jwks_url or oidc_issuer");
            }

            if (jwt.Secret is not null)
            {
                d.Error("auth.jwt.secret", $"is for HS algorithms; {jwt.Algorithm} verifies with a public key");
            }

            if (jwt.PublicKey is { } pem && !pem.Contains("-----BEGIN", StringComparison.Ordinal))
            {
                d.Error("auth.jwt.public_key", "must be a PEM public key (-----BEGIN PUBLIC KEY-----), inline or through ${file:PATH}");
            }
        }

        if (jwt.JwksUrl is not null)
        {
            ValidationRules.HttpUrl(d, "auth.jwt.jwks_url", jwt.JwksUrl);
        }

        if (jwt.OidcIssuer is not null)
        {
            ValidationRules.HttpUrl(d, "auth.jwt.oidc_issuer", jwt.OidcIssuer);
        }

        if (!symmetric && jwt.PublicKey is not null && Array.IndexOf(Algorithms, jwt.Algorithm) >= 0
            && Authentication.JwtAuthenticator.KeyProblem(jwt) is { } keyProblem)
        {
            d.Error("auth.jwt.public_key", $"{keyProblem}; no token could ever be verified");
        }

        if (jwt.PublicKey is { } privatePem && privatePem.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            d.Warning("auth.jwt.public_key", "holds a private key; the gateway only needs the public key (keep the private key with the issuer)");
        }

        if (string.IsNullOrWhiteSpace(jwt.RolesClaim))
        {
            d.Error("auth.jwt.roles_claim", "must name a claim");
        }

        ValidationRules.InRange(d, "auth.jwt.clock_skew_secs", jwt.ClockSkewSecs, 0, 86_400);
        if (jwt.ClockSkewSecs > 300)
        {
            d.Warning("auth.jwt.clock_skew_secs", "more than 5 minutes of skew accepts long-expired tokens");
        }
    }
}
