using System.Text;

namespace Gateway.Configuration.Validation;

/// <summary>JWT and API-key settings, and routes that ask for an authentication method.</summary>
internal static class AuthValidator
{
    internal static readonly string[] Algorithms =
        ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384"];

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
            foreach (var (key, name) in apiKey.Keys)
            {
                if (string.IsNullOrWhiteSpace(key) || key.Trim() != key)
                {
                    d.Error($"auth.api_key.keys[{index}]", "an API key must not be empty or have surrounding spaces");
                }
                else if (key.Length < 8)
                {
                    d.Warning($"auth.api_key.keys[{index}]", $"the key named '{name}' is shorter than 8 characters and easy to guess");
                }

                index++;
            }

            if (apiKey.Redis is { } redis)
            {
                ValidationRules.RedisUrl(d, "auth.api_key.redis.url", redis.Url);
            }
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Auth is not { } auth)
            {
                continue;
            }

            var path = $"routes[{i}].auth";
            for (var j = 0; j < auth.Methods.Count; j++)
            {
                var method = auth.Methods[j];
                ValidationRules.OneOf(d, $"{path}.methods[{j}]", method, "jwt", "apikey", "api_key");
                // Kept loadable for configs of the earlier gateway; such a method can never succeed.
                if (method == "jwt" && jwt is null)
                {
                    d.Warning($"{path}.methods[{j}]", "jwt is asked for, but auth.jwt is not configured: no token can pass");
                }
                else if (method is "apikey" or "api_key" && apiKey is null)
                {
                    d.Warning($"{path}.methods[{j}]", "apikey is asked for, but auth.api_key is not configured: no key can pass");
                }
            }

            if (auth.Required && auth.Methods.Count == 0 && jwt is null && apiKey is null)
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
            else if (Encoding.UTF8.GetByteCount(jwt.Secret) < 32)
            {
                d.Warning("auth.jwt.secret", $"is shorter than 32 bytes; {jwt.Algorithm} needs a long random secret");
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

        ValidationRules.NotNegative(d, "auth.jwt.clock_skew_secs", jwt.ClockSkewSecs);
        if (jwt.ClockSkewSecs > 300)
        {
            d.Warning("auth.jwt.clock_skew_secs", "more than 5 minutes of skew accepts long-expired tokens");
        }
    }
}
