using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Authentication;
using Gateway.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Benchmarks;

/// <summary>Per-request cost of authentication: JWT validation with cached keys, and the API-key check.</summary>
[MemoryDiagnoser]
public class AuthBenchmarks
{
    private const string Secret = "a-benchmark-secret-that-is-at-least-32-bytes";
    private JwtAuthenticator _hs = null!;
    private JwtAuthenticator _rs = null!;
    private ApiKeyAuthenticator _keys = null!;
    private string _hsToken = null!;
    private string _rsToken = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rsa = RSA.Create(2048);
        _hs = new JwtAuthenticator(new JwtConfig { Secret = Secret, Algorithm = "HS256", Issuer = "https://issuer", Audience = new StringList(["api"]) }, TimeProvider.System, null);
        _rs = new JwtAuthenticator(new JwtConfig { PublicKey = rsa.ExportSubjectPublicKeyInfoPem(), Algorithm = "RS256", Issuer = "https://issuer", Audience = new StringList(["api"]) }, TimeProvider.System, null);
        var claims = new Dictionary<string, object>
        {
            ["sub"] = "user-1", ["iss"] = "https://issuer", ["aud"] = "api", ["roles"] = new[] { "admin" },
            ["exp"] = DateTimeOffset.UtcNow.AddHours(6).ToUnixTimeSeconds(), ["nbf"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(),
        };
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        _hsToken = handler.CreateToken(new SecurityTokenDescriptor { Claims = claims, SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256) });
        _rsToken = handler.CreateToken(new SecurityTokenDescriptor { Claims = claims, SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256) });
        var keys = new Dictionary<string, ApiKeyEntry>();
        for (var i = 0; i < 1000; i++)
        {
            keys[$"sk_live_{i:D6}_abcdefghijklmnop"] = new ApiKeyEntry { Name = $"client-{i}" };
        }

        _keys = new ApiKeyAuthenticator(new ApiKeyConfig { Keys = keys }, store: null);
        if (_hs.AuthenticateAsync(_hsToken, false).AsTask().Result.Outcome != AuthOutcome.Success
            || _rs.AuthenticateAsync(_rsToken, false).AsTask().Result.Outcome != AuthOutcome.Success)
        {
            throw new InvalidOperationException("benchmark tokens do not validate");
        }
    }

    [Benchmark]
    public int Hs256() => (int)_hs.AuthenticateAsync(_hsToken, false).AsTask().Result.Outcome;

    [Benchmark]
    public int Rs256() => (int)_rs.AuthenticateAsync(_rsToken, false).AsTask().Result.Outcome;

    [Benchmark]
    public bool ApiKeyCheck() => _keys.TryFindLocal("sk_live_000500_abcdefghijklmnop", out _);

    [Benchmark]
    public int ApiKeyAuthenticate() => (int)_keys.AuthenticateAsync("sk_live_000500_abcdefghijklmnop", false).GetAwaiter().GetResult().Outcome;

    [Benchmark]
    public bool ApiKeyUnknown() => _keys.TryFindLocal("sk_live_999999_abcdefghijklmnop", out _);
}
