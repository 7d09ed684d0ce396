using System.Text;
using Gateway.Authentication;
using Gateway.Configuration;

namespace Gateway.Tests.Authentication;

public sealed class JwtAuthenticatorTests
{
    private static JwtAuthenticator Hs(double skew = 30, List<string>? required = null) => new(new JwtConfig
    {
        Secret = Tokens.Secret,
        Algorithm = "HS256",
        Issuer = Tokens.Issuer,
        Audience = new StringList([Tokens.Audience, "other"]),
        ClockSkewSecs = skew,
        RequiredClaims = required,
    }, TimeProvider.System, null);

    private static JwtAuthenticator Rs(string algorithm = "RS256") => new(new JwtConfig
    {
        PublicKey = Tokens.RsaPublicPem,
        Algorithm = algorithm,
        Issuer = Tokens.Issuer,
        Audience = new StringList([Tokens.Audience]),
    }, TimeProvider.System, null);

    private static async Task<string> Reason(JwtAuthenticator authenticator, string token)
    {
        var result = await authenticator.AuthenticateAsync(token, offline: false);
        Assert.NotEqual(AuthOutcome.Success, result.Outcome);
        return result.Reason;
    }

    [Fact]
    public async Task Valid_tokens_give_an_identity()
    {
        var result = await Hs().AuthenticateAsync(Tokens.Hs256(Tokens.Claims("alice", ["admin", "ops"], "read write")), offline: false);
        Assert.Equal(AuthOutcome.Success, result.Outcome);
        Assert.Equal("alice", result.Identity!.Subject);
        Assert.Equal(["admin", "ops"], result.Identity.Roles);
        Assert.Equal(["read", "write"], result.Identity.Scopes);

        Assert.Equal(AuthOutcome.Success, (await Rs().AuthenticateAsync(Tokens.Rs256(), offline: false)).Outcome);
        Assert.Equal(AuthOutcome.Success, (await Rs("PS256").AuthenticateAsync(Tokens.Rs256(algorithm: "PS256"), offline: false)).Outcome);
        var es = new JwtAuthenticator(new JwtConfig { PublicKey = Tokens.EcPublicPem, Algorithm = "ES256" }, TimeProvider.System, null);
        Assert.Equal(AuthOutcome.Success, (await es.AuthenticateAsync(Tokens.Es256(), offline: false)).Outcome);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("NONE")]
    public async Task Alg_none_is_refused(string alg)
    {
        var payload = Tokens.Claims();
        Assert.Equal("bad_algorithm", await Reason(Hs(), Tokens.Raw(new { alg, typ = "JWT" }, payload, "")));
        Assert.NotEqual("ok", await Reason(Rs(), Tokens.Raw(new { alg, typ = "JWT" }, payload, "")));
    }

    [Fact]
    public async Task Hs256_signed_with_the_rs256_public_key_is_refused()
    {
        var forged = Tokens.HmacSigned(new { alg = "HS256", typ = "JWT" }, Tokens.Claims(), Encoding.ASCII.GetBytes(Tokens.RsaPublicPem));
        Assert.Equal("bad_algorithm", await Reason(Rs(), forged));
    }

    [Fact]
    public async Task Lifetime_is_checked_with_clock_skew()
    {
        Assert.Equal("expired", await Reason(Hs(), Tokens.Hs256(Tokens.Claims(expiresInSecs: -120))));
        Assert.Equal(AuthOutcome.Success, (await Hs().AuthenticateAsync(Tokens.Hs256(Tokens.Claims(expiresInSecs: -10)), offline: false)).Outcome);
        Assert.Equal("expired", await Reason(Hs(skew: 0), Tokens.Hs256(Tokens.Claims(expiresInSecs: -10))));

        var future = Tokens.Claims();
        future["nbf"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        Assert.Equal("not_yet_valid", await Reason(Hs(), Tokens.Hs256(future)));

        var noExpiry = Tokens.Claims();
        noExpiry.Remove("exp");
        Assert.Equal("no_expiry", await Reason(Hs(), Tokens.Hs256(noExpiry)));
    }

    [Fact]
    public async Task Issuer_audience_and_required_claims()
    {
        var wrongIssuer = Tokens.Claims();
        wrongIssuer["iss"] = "https://evil.test";
        Assert.Equal("bad_issuer", await Reason(Hs(), Tokens.Hs256(wrongIssuer)));

        var wrongAudience = Tokens.Claims();
        wrongAudience["aud"] = "someone-else";
        Assert.Equal("bad_audience", await Reason(Hs(), Tokens.Hs256(wrongAudience)));

        var otherAudience = Tokens.Claims();
        otherAudience["aud"] = "other";
        Assert.Equal(AuthOutcome.Success, (await Hs().AuthenticateAsync(Tokens.Hs256(otherAudience), offline: false)).Outcome);

        Assert.Equal("missing_claim", await Reason(Hs(required: ["tenant"]), Tokens.Hs256()));
    }

    [Fact]
    public async Task Tampered_unsigned_and_oversized_tokens_are_refused()
    {
        var token = Tokens.Hs256(Tokens.Claims("alice"));
        var parts = token.Split('.');
        var tampered = Tokens.Claims("admin");
        Assert.Equal("bad_signature", await Reason(Hs(), $"{parts[0]}.{Tokens.B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(tampered))}.{parts[2]}"));
        Assert.NotEqual("ok", await Reason(Hs(), $"{parts[0]}.{parts[1]}."));
        Assert.Equal("bad_signature", await Reason(Hs(), Tokens.Hs256(secret: "another-secret-that-is-also-32-bytes-long")));

        var big = Tokens.Claims();
        big["padding"] = new string('x', 9000);
        Assert.Equal("too_large", await Reason(Hs(), Tokens.Hs256(big)));
        Assert.Equal("malformed", await Reason(Hs(), "not-a-jwt"));
        Assert.Equal("malformed", await Reason(Hs(), "a.b.c"));
    }

    [Fact]
    public async Task An_embedded_jwk_header_is_never_trusted()
    {
        using var attacker = System.Security.Cryptography.RSA.Create(2048);
        var parameters = attacker.ExportParameters(false);
        var header = new { alg = "RS256", typ = "JWT", jwk = new { kty = "RSA", n = Tokens.B64(parameters.Modulus!), e = Tokens.B64(parameters.Exponent!) }, jku = "http://evil.test/jwks" };
        var unsigned = $"{Tokens.B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(header))}.{Tokens.B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Tokens.Claims()))}";
        var signature = attacker.SignData(Encoding.ASCII.GetBytes(unsigned), System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        Assert.Equal("bad_signature", await Reason(Rs(), unsigned + "." + Tokens.B64(signature)));
    }
}
