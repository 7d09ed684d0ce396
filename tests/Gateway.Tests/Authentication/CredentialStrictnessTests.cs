using System.Net;
using System.Text;
using Gateway.Authentication;
using Gateway.Configuration;

namespace Gateway.Tests.Authentication;

/// <summary>Attacks and mistakes found in review, kept as regressions.</summary>
public sealed class CredentialStrictnessTests
{
    private static string Config(string backend) => $$$"""
        auth:
          jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
          api_key:
            keys: {"sk_partner_key_0000000001": partner}
        routes:
          - {path: /opt, backend: "{{{backend}}}", auth: {required: false}}
          - {path: /prot, backend: "{{{backend}}}", auth: {required: true}}
          - {path: /nofwd, backend: "{{{backend}}}", auth: {required: true, forward_authorization: false, token_cookie: session, token_query: access_token}}
          - {path: /cookie, backend: "{{{backend}}}", auth: {required: true, token_cookie: session}}
          - {path: /public, backend: "{{{backend}}}"}
        """;

    [Fact]
    public async Task Duplicated_credentials_are_refused_not_ignored()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        var bad = Tokens.Hs256(secret: "a-different-secret-of-at-least-32-bytes!!");
        foreach (var (path, headers) in new (string, (string, string)[])[]
        {
            ("/opt", [("Authorization", "Bearer " + bad), ("Authorization", "Bearer " + bad)]),
            ("/opt", [("X-API-Key", "bad"), ("X-API-Key", "bad")]),
            ("/nofwd?access_token=a&access_token=b", []),
            ("/prot", [("Authorization", "Bearer " + Tokens.Hs256()), ("Authorization", "Bearer " + Tokens.Hs256())]),
            ("/cookie", [("Cookie", $"session={bad}; session={Tokens.Hs256()}")]),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await gateway.Client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path} {string.Join(';', headers)} -> {response.StatusCode}");
        }

        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task Every_presented_credential_must_be_valid()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/prot");
        request.Headers.Add("Authorization", "Bearer " + Tokens.Hs256());
        request.Headers.Add("X-API-Key", "not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(request)).StatusCode);
        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task Credentials_not_forwarded_also_leave_the_cookie_and_query_behind()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using var cookie = new HttpRequestMessage(HttpMethod.Get, "/nofwd");
        cookie.Headers.Add("Cookie", $"session={Tokens.Hs256()}; theme=dark");
        var echo = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(cookie));
        Assert.Equal("theme=dark", echo.Header("Cookie"));

        var query = await EchoedRequest.ReadAsync(await gateway.Client.GetAsync($"/nofwd?access_token={Tokens.Hs256()}&x=1"));
        Assert.Equal("/nofwd?x=1", query.Target);
    }

    [Fact]
    public async Task Identity_values_that_cannot_be_headers_are_left_out_and_look_alikes_removed()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        var claims = Tokens.Claims("José", roles: ["user,admin", "reader"]);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/prot");
        request.Headers.Add("Authorization", "Bearer " + Tokens.Hs256(claims));
        request.Headers.TryAddWithoutValidation("X_User_Id", "root");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = await EchoedRequest.ReadAsync(response);
        Assert.Null(echo.Header("X-User-Id"));
        Assert.Null(echo.Header("X_User_Id"));
        Assert.Equal("reader", echo.Header("X-User-Roles"));

        using var lookAlike = new HttpRequestMessage(HttpMethod.Get, "/public");
        lookAlike.Headers.TryAddWithoutValidation("x_user_roles", "admin");
        Assert.Null((await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(lookAlike))).Header("x_user_roles"));
    }

    [Fact]
    public async Task Ambiguous_token_structures_are_refused()
    {
        var authenticator = new JwtAuthenticator(new JwtConfig { Secret = Tokens.Secret }, TimeProvider.System, null);
        var claims = Tokens.Claims();
        var key = Encoding.UTF8.GetBytes(Tokens.Secret);
        var cases = new[]
        {
            Tokens.HmacSigned(new { alg = "HS256", typ = "JWT", crit = new[] { "exp2" }, exp2 = 1 }, claims, key),
            Tokens.HmacSigned(new { alg = "HS256", cty = "JWT" }, claims, key),
            Tokens.HmacSigned(new { alg = "HS256" }, new Dictionary<string, object>(claims) { ["exp"] = "9999999999" }, key),
            DuplicateSub(key),
            Tokens.Hs256() + "=",
        };
        foreach (var token in cases)
        {
            var result = await authenticator.AuthenticateAsync(token, offline: false);
            Assert.True(result.Outcome == AuthOutcome.Invalid, token);
        }

        static string DuplicateSub(byte[] key)
        {
            var header = Tokens.B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
            var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
            var payload = Tokens.B64(Encoding.UTF8.GetBytes($$"""{"sub":"alice","sub":"mallory","exp":{{exp}}}"""));
            var signature = Tokens.B64(System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(header + "." + payload)));
            return $"{header}.{payload}.{signature}";
        }
    }

    [Theory]
    [InlineData("HS256", "short-secret")]
    [InlineData("HS384", "test-secret-that-is-long-enough-32bytes!!")]
    [InlineData("HS512", "test-secret-that-is-long-enough-32bytes!!")]
    public async Task Hmac_secrets_shorter_than_the_hash_still_verify_with_a_warning(string algorithm, string secret)
    {
        var loaded = ConfigLoader.LoadText($"auth:\n  jwt: {{algorithm: {algorithm}, secret: \"{secret}\"}}\nroutes: []\n", "s.yaml", ".", _ => null);
        Assert.False(loaded.HasErrors);
        Assert.Contains(loaded.Warnings, w => w.Path == "auth.jwt.secret");
        var authenticator = new JwtAuthenticator(loaded.Config!.Auth!.Jwt!, TimeProvider.System, null);
        var header = new { alg = algorithm, typ = "JWT" };
        var input = $"{Tokens.B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(header))}.{Tokens.B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Tokens.Claims()))}";
        using var hmac = algorithm switch
        {
            "HS384" => (System.Security.Cryptography.HMAC)new System.Security.Cryptography.HMACSHA384(Encoding.UTF8.GetBytes(secret)),
            "HS512" => new System.Security.Cryptography.HMACSHA512(Encoding.UTF8.GetBytes(secret)),
            _ => new System.Security.Cryptography.HMACSHA256(Encoding.UTF8.GetBytes(secret)),
        };
        var token = input + "." + Tokens.B64(hmac.ComputeHash(Encoding.ASCII.GetBytes(input)));
        Assert.Equal(AuthOutcome.Success, (await authenticator.AuthenticateAsync(token, offline: false)).Outcome);
    }

    [Fact]
    public void Unusable_public_keys_and_conflicting_identity_headers_are_errors()
    {
        var ec = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportSubjectPublicKeyInfoPem();
        var loaded = ConfigLoader.LoadText($$"""
            auth:
              jwt:
                algorithm: RS256
                public_key: |
            {{string.Join('\n', ec.Split('\n').Select(l => "      " + l))}}
                clock_skew_secs: 999999999999999
              api_key: {keys: {"sk_partner_key_0000000001": "José"} }
              identity_headers: {X-User-Id: "claim:sub", x-user-id: roles, X-API-Key: subject}
            routes: []
            """, "k.yaml", ".", _ => null);
        var errors = loaded.Errors.Select(e => e.Path).ToList();
        Assert.Contains("auth.jwt.public_key", errors);
        Assert.Contains("auth.jwt.clock_skew_secs", errors);
        Assert.Contains("auth.api_key.keys[0].name", errors);
        Assert.Contains("auth.identity_headers.x-user-id", errors);
        Assert.Contains("auth.identity_headers.X-API-Key", errors);
    }

    [SkippableFact]
    public async Task Store_lookups_of_hash_shaped_or_foreign_values_are_not_found_and_short_ids_revoke_nothing()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var store = new RedisApiKeyStore(redis.Url, null, TimeSpan.Zero, TimeProvider.System, null);
        var id = await store.AddAsync("gw_some_key_000000001", "a", [], null);
        var hash = ApiKeyHash.Hex(ApiKeyHash.Compute("gw_some_key_000000001"));
        Assert.Equal(StoreOutcome.NotFound, (await store.FindAsync(hash)).Outcome);
        var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        await connection.GetDatabase().ListLeftPushAsync("gateway:apikey:listkey1234", "x");
        Assert.Equal(StoreOutcome.NotFound, (await store.FindAsync("listkey1234")).Outcome);
        await connection.CloseAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => store.RevokeAsync(null, "", null));
        Assert.Equal(1, await store.RevokeAsync(null, id[..8], null));
    }
}
