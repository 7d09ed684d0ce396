using System.Security.Cryptography;
using System.Text;
using Gateway.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Authentication;

/// <summary>
/// Validates bearer tokens. The configured algorithm decides the key type and is the only one accepted, so
/// <c>alg: none</c> and HS/RS confusion cannot pass; keys come only from the config or its JWKS, never from the
/// token's <c>jwk</c>, <c>jku</c> or <c>x5u</c> headers; tokens over 8 KiB are refused before parsing.
/// </summary>
internal sealed class JwtAuthenticator
{
    public const int MaxTokenBytes = 8 * 1024;
    public const string MethodName = "jwt";

    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = MaxTokenBytes };
    private readonly TokenValidationParameters _parameters;
    private readonly JwksKeySource? _jwks;
    private readonly string[] _requiredClaims;
    private readonly string _rolesClaim;
    private readonly string _algorithm;
    private readonly TimeSpan _skew;
    private readonly byte[]? _hmacSecret;

    [ThreadStatic]
    private static JsonWebToken? t_verified;

    private readonly TimeProvider _time;

    /// <param name="jwks">The shared key cache for the config's JWKS URL or OIDC issuer (null for static keys).</param>
    public JwtAuthenticator(JwtConfig config, TimeProvider time, JwksKeySource? jwks)
    {
        _time = time;
        _requiredClaims = [.. config.RequiredClaims ?? []];
        _rolesClaim = config.RolesClaim;
        _algorithm = config.Algorithm;
        _skew = TimeSpan.FromSeconds(config.ClockSkewSecs);
        var audiences = config.Audience?.Values ?? [];
        _parameters = new TokenValidationParameters
        {
            ValidAlgorithms = [config.Algorithm],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(config.ClockSkewSecs),
            ValidateIssuer = config.Issuer is not null,
            ValidIssuer = config.Issuer,
            ValidateAudience = audiences.Count > 0,
            ValidAudiences = audiences,
            ValidateIssuerSigningKey = false,
            TryAllIssuerSigningKeys = true,
            SaveSigninToken = false,
        };

        if (jwks is not null)
        {
            _jwks = jwks;
            _parameters.IssuerSigningKeyResolver = (_, _, kid, _) => jwks.KeysFor(kid);
        }
        else if (config.Algorithm.StartsWith("HS", StringComparison.Ordinal) && !string.IsNullOrEmpty(config.Secret))
        {
            // HMAC is checked here rather than by the token library, which refuses secrets shorter than the hash
            // (HS256 < 32 bytes, HS512 < 64): configs of the earlier gateway keep working with a warning.
            var secret = Encoding.UTF8.GetBytes(config.Secret);
            var algorithm = config.Algorithm;
            _hmacSecret = secret;
            _parameters.SignatureValidator = (encoded, _) =>
                t_verified is { } verified && ReferenceEquals(verified.EncodedToken, encoded) ? verified
                : HmacValid(encoded, secret, algorithm) ? new JsonWebToken(encoded)
                : throw new SecurityTokenInvalidSignatureException("The token's signature is invalid.");
        }
        else if (StaticKey(config, out _) is { } key)
        {
            _parameters.IssuerSigningKey = key;
        }
    }

    /// <summary>Why the configured static key cannot be used, or null when it can (or keys come from JWKS).</summary>
    public static string? KeyProblem(JwtConfig config)
    {
        if (config.JwksUrl is not null || config.OidcIssuer is not null)
        {
            return null;
        }

        StaticKey(config, out var problem);
        return problem;
    }

    public Task WarmUpAsync() => _jwks?.RefreshAsync() ?? Task.CompletedTask;

    public async ValueTask<AuthResult> AuthenticateAsync(string token, bool offline)
    {
        if (token.Length > MaxTokenBytes)
        {
            return AuthResult.Invalid("too_large", $"The token is larger than {MaxTokenBytes} bytes.");
        }

        if (JwtShape.Problem(token) is { } shape)
        {
            return AuthResult.Invalid("malformed", shape);
        }

        JsonWebToken parsed;
        try
        {
            parsed = _handler.ReadJsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or FormatException)
        {
            return AuthResult.Invalid("malformed", "The token is not a well-formed JWT.");
        }

        // The configured algorithm is the only one: "none", another family or another spelling never get further.
        if (!string.Equals(parsed.Alg, _algorithm, StringComparison.Ordinal))
        {
            return AuthResult.Invalid("bad_algorithm", $"The token's algorithm is not {_algorithm}.");
        }

        if (_jwks is not null)
        {
            if (offline)
            {
                return AuthResult.Unavailable("offline", "Tokens signed by JWKS keys cannot be checked offline.");
            }

            await _jwks.PrepareAsync(parsed.Kid).ConfigureAwait(false);
            if (!_jwks.HasKeys)
            {
                return AuthResult.Unavailable("keys_unavailable", "The signing keys could not be loaded; try again shortly.");
            }
        }
        else if (_parameters.IssuerSigningKey is null && _hmacSecret is null)
        {
            return AuthResult.Invalid("no_key", "The gateway has no usable key to verify tokens.");
        }

        if (_hmacSecret is not null)
        {
            // Verified here once; the validator below hands the already-parsed token back instead of parsing again.
            if (!HmacValid(token, _hmacSecret, _algorithm))
            {
                return AuthResult.Invalid("bad_signature", "The token's signature is invalid.");
            }

            t_verified = parsed;
        }

        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(parsed, _parameters).ConfigureAwait(false);
        }
        finally
        {
            t_verified = null;
        }

        if (!result.IsValid)
        {
            return Classify(result.Exception, parsed);
        }

        foreach (var claim in _requiredClaims)
        {
            if (!parsed.TryGetPayloadValue<object>(claim, out var value) || value is null)
            {
                return AuthResult.Invalid("missing_claim", $"The token lacks the required claim '{claim}'.");
            }
        }

        var subject = parsed.TryGetPayloadValue<string>("sub", out var sub) ? sub : null;
        return AuthResult.Success(new Identity
        {
            Method = MethodName,
            Subject = subject,
            Roles = JwtClaims.Values(parsed, _rolesClaim),
            Scopes = JwtClaims.Scopes(parsed),
            Token = parsed,
        });
    }

    private AuthResult Classify(Exception? error, JsonWebToken token) => error switch
    {
        SecurityTokenSignatureKeyNotFoundException when _jwks is not null && !_jwks.Knows(token.Kid) =>
            AuthResult.Invalid("unknown_key", "The token is signed with an unknown key."),
        SecurityTokenSignatureKeyNotFoundException => AuthResult.Invalid("bad_signature", "The token's signature is invalid."),
        SecurityTokenInvalidLifetimeException when token.ValidTo != DateTime.MinValue && token.ValidTo < _time.GetUtcNow().UtcDateTime - _skew =>
            AuthResult.Invalid("expired", "The token has expired."),
        SecurityTokenInvalidLifetimeException when token.ValidFrom != DateTime.MinValue && token.ValidFrom > _time.GetUtcNow().UtcDateTime + _skew =>
            AuthResult.Invalid("not_yet_valid", "The token is not valid yet."),
        SecurityTokenExpiredException => AuthResult.Invalid("expired", "The token has expired."),
        SecurityTokenNotYetValidException => AuthResult.Invalid("not_yet_valid", "The token is not valid yet."),
        SecurityTokenNoExpirationException => AuthResult.Invalid("no_expiry", "The token has no expiry ('exp')."),
        SecurityTokenInvalidIssuerException => AuthResult.Invalid("bad_issuer", "The token's issuer is not accepted."),
        SecurityTokenInvalidAudienceException => AuthResult.Invalid("bad_audience", "The token's audience is not accepted."),
        SecurityTokenInvalidAlgorithmException => AuthResult.Invalid("bad_algorithm", "The token's algorithm is not accepted."),
        SecurityTokenInvalidSignatureException => AuthResult.Invalid("bad_signature", "The token's signature is invalid."),
        SecurityTokenInvalidLifetimeException => AuthResult.Invalid("bad_lifetime", "The token's lifetime is invalid."),
        SecurityTokenMalformedException or ArgumentException => AuthResult.Invalid("malformed", "The token is not a well-formed JWT."),
        _ => AuthResult.Invalid("invalid", "The token is invalid."),
    };

    private static bool HmacValid(string token, byte[] secret, string algorithm)
    {
        var dot = token.LastIndexOf('.');
        if (dot <= 0)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[64];
        Span<byte> given = stackalloc byte[128];
        var input = Encoding.ASCII.GetBytes(token, 0, dot);
        var length = algorithm switch
        {
            "HS384" => HMACSHA384.HashData(secret, input, expected),
            "HS512" => HMACSHA512.HashData(secret, input, expected),
            _ => HMACSHA256.HashData(secret, input, expected),
        };
        try
        {
            return System.Buffers.Text.Base64Url.TryDecodeFromChars(token.AsSpan(dot + 1), given, out var written)
                && written == length
                && CryptographicOperations.FixedTimeEquals(given[..written], expected[..length]);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static SecurityKey? StaticKey(JwtConfig config, out string? problem)
    {
        problem = null;
        var algorithm = config.Algorithm;
        if (algorithm.StartsWith("HS", StringComparison.Ordinal))
        {
            if (string.IsNullOrEmpty(config.Secret))
            {
                problem = "no secret";
                return null;
            }

            return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(config.Secret));
        }

        if (string.IsNullOrWhiteSpace(config.PublicKey))
        {
            problem = "no public key";
            return null;
        }

        try
        {
            if (algorithm.StartsWith("ES", StringComparison.Ordinal))
            {
                var ecdsa = ECDsa.Create();
                ecdsa.ImportFromPem(config.PublicKey);
                var expectedBits = algorithm == "ES384" ? 384 : 256;
                if (ecdsa.KeySize != expectedBits)
                {
                    problem = $"{algorithm} needs a P-{expectedBits} key, but the key is {ecdsa.KeySize} bits";
                    return null;
                }

                return new ECDsaSecurityKey(ecdsa);
            }

            var rsa = RSA.Create();
            rsa.ImportFromPem(config.PublicKey);
            if (rsa.KeySize < 2048)
            {
                problem = $"the RSA key has {rsa.KeySize} bits; at least 2048 are needed";
                return null;
            }

            return new RsaSecurityKey(rsa);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            problem = $"public_key is not a readable {(algorithm.StartsWith("ES", StringComparison.Ordinal) ? "EC" : "RSA")} public key in PEM form";
            return null;
        }
    }

}
