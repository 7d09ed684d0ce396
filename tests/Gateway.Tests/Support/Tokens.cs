using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Support;

/// <summary>Signed and deliberately broken JWTs for tests.</summary>
public static class Tokens
{
    public const string Secret = "a-test-secret-that-is-at-least-32-bytes-long!";
    public const string Issuer = "https://issuer.test";
    public const string Audience = "gateway-tests";

    public static readonly RSA Rsa = RSA.Create(2048);
    public static readonly ECDsa Ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static string RsaPublicPem => Rsa.ExportSubjectPublicKeyInfoPem();

    public static string EcPublicPem => Ec.ExportSubjectPublicKeyInfoPem();

    public static Dictionary<string, object> Claims(string sub = "user-1", string[]? roles = null, string? scope = null, int expiresInSecs = 300)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["sub"] = sub,
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["iat"] = now,
            ["nbf"] = now - 600,
            ["exp"] = now + expiresInSecs,
        };
        if (roles is not null)
        {
            claims["roles"] = roles;
        }

        if (scope is not null)
        {
            claims["scope"] = scope;
        }

        return claims;
    }

    public static string Hs256(Dictionary<string, object>? claims = null, string secret = Secret) =>
        Sign(claims ?? Claims(), new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256));

    public static string Rs256(Dictionary<string, object>? claims = null, RSA? key = null, string? kid = null, string algorithm = SecurityAlgorithms.RsaSha256)
    {
        var securityKey = new RsaSecurityKey(key ?? Rsa) { KeyId = kid };
        return Sign(claims ?? Claims(), new SigningCredentials(securityKey, algorithm));
    }

    public static string Es256(Dictionary<string, object>? claims = null) =>
        Sign(claims ?? Claims(), new SigningCredentials(new ECDsaSecurityKey(Ec), SecurityAlgorithms.EcdsaSha256));

    private static string Sign(Dictionary<string, object> claims, SigningCredentials credentials) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = credentials,
        });

    /// <summary>A token assembled by hand: any header, any payload, any signature.</summary>
    public static string Raw(object header, object payload, string signature) =>
        $"{B64(JsonSerializer.SerializeToUtf8Bytes(header))}.{B64(JsonSerializer.SerializeToUtf8Bytes(payload))}.{signature}";

    /// <summary>HMAC-SHA256 over header.payload with the given key bytes (for alg-confusion attacks).</summary>
    public static string HmacSigned(object header, object payload, byte[] key)
    {
        var signingInput = $"{B64(JsonSerializer.SerializeToUtf8Bytes(header))}.{B64(JsonSerializer.SerializeToUtf8Bytes(payload))}";
        return signingInput + "." + B64(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signingInput)));
    }

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A JWKS document with the public parts of these RSA keys.</summary>
    public static string Jwks(params (RSA Key, string Kid)[] keys) => JsonSerializer.Serialize(new
    {
        keys = keys.Select(k =>
        {
            var p = k.Key.ExportParameters(false);
            return new Dictionary<string, string> { ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = k.Kid, ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!) };
        }),
    });
}
