using System.Net;
using System.Text;
using Gateway.Tests.Forwarding;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Authentication;

/// <summary>Authentication and authorization through the real gateway in front of a real backend.</summary>
public sealed class AuthFunctionalTests
{
    private static string Config(string backend, string extraAuth = "") => $$$"""
        auth:
          jwt:
            secret: "{{{Tokens.Secret}}}"
            algorithm: HS256
            issuer: "{{{Tokens.Issuer}}}"
            audience: "{{{Tokens.Audience}}}"
          api_key:
            header: X-API-Key
            keys:
              "sk_test_123456789": "dev-key"
              "sk_admin_987654321": {name: admin-key, roles: [admin], tier: pro}
        {{{extraAuth}}}
        routes:
          - {id: public, path: /public, backend: "{{{backend}}}"}
          - {id: jwt, path: /jwt, backend: "{{{backend}}}", auth: {required: true, methods: [jwt]}}
          - {id: key, path: /key, backend: "{{{backend}}}", auth: {required: true, methods: [apikey]}}
          - {id: any, path: /any, backend: "{{{backend}}}", auth: {required: true, methods: []}}
          - {id: optional, path: /optional, backend: "{{{backend}}}", auth: {required: false}}
          - {id: scoped, path: /scoped, backend: "{{{backend}}}", auth: {required: true, scopes: [orders.read, orders.write]}}
          - {id: roles, path: /roles, backend: "{{{backend}}}", auth: {required: true, roles: [admin, ops]}}
          - {id: claims, path: /claims, backend: "{{{backend}}}", auth: {required: true, claims: {tenant: [acme, globex]} } }
          - {id: hidden, path: /hidden, backend: "{{{backend}}}", auth: {required: true, forward_authorization: false}}
          - {id: cookie, path: /cookie, backend: "{{{backend}}}", auth: {required: true, methods: [jwt], token_cookie: session, token_query: access_token}}
        """;

    private static HttpRequestMessage Get(string path, string? bearer = null, string? apiKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bearer);
        }

        if (apiKey is not null)
        {
            request.Headers.TryAddWithoutValidation("X-API-Key", apiKey);
        }

        return request;
    }

    public static TheoryData<string, string> Attacks()
    {
        var rsa = System.Security.Cryptography.RSA.Create(2048);
        var claims = Tokens.Claims();
        var valid = Tokens.Hs256(claims);
        var parts = valid.Split('.');
        var expired = Tokens.Claims(expiresInSecs: -300);
        var future = Tokens.Claims();
        future["nbf"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var wrongIssuer = Tokens.Claims();
        wrongIssuer["iss"] = "https://evil.test";
        var wrongAudience = Tokens.Claims();
        wrongAudience["aud"] = "evil";
        var big = Tokens.Claims();
        big["pad"] = new string('p', 9000);
        var tampered = Tokens.Claims("root");
        return new TheoryData<string, string>
        {
            { "alg none", Tokens.Raw(new { alg = "none", typ = "JWT" }, claims, "") },
            { "alg None", Tokens.Raw(new { alg = "None", typ = "JWT" }, claims, "") },
            { "alg NONE", Tokens.Raw(new { alg = "NONE", typ = "JWT" }, claims, "") },
            { "RS256 token for an HS256 gateway", Tokens.Rs256(claims, rsa) },
            { "HS256 keyed with a public key", Tokens.HmacSigned(new { alg = "HS256", typ = "JWT" }, claims, Encoding.ASCII.GetBytes(rsa.ExportSubjectPublicKeyInfoPem())) },
            { "expired beyond skew", Tokens.Hs256(expired) },
            { "nbf in the future", Tokens.Hs256(future) },
            { "wrong issuer", Tokens.Hs256(wrongIssuer) },
            { "wrong audience", Tokens.Hs256(wrongAudience) },
            { "tampered payload", $"{parts[0]}.{Tokens.B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(tampered))}.{parts[2]}" },
            { "empty signature", $"{parts[0]}.{parts[1]}." },
            { "wrong secret", Tokens.Hs256(claims, "a-different-secret-of-at-least-32-bytes!!") },
            { "oversized", Tokens.Hs256(big) },
            { "garbage", "not.a.token" },
        };
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task Bad_tokens_get_401_and_never_reach_the_backend(string attack, string token)
    {
        _ = attack;
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using var response = await gateway.Client.SendAsync(Get("/jwt", bearer: token));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("Bearer realm=\"gateway\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        await ForwardingTests.AssertProblemAsync(response, 401);
        Assert.Equal(0, backend.Requests);
    }

    [Theory]
    [InlineData("sk_test_12345678")]
    [InlineData("sk_test_1234567890")]
    [InlineData("SK_TEST_123456789")]
    [InlineData("xsk_test_123456789")]
    [InlineData("sk_test_1234 56789")]
    [InlineData("dev-key")]
    public async Task Api_key_variants_get_401(string key)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using var response = await gateway.Client.SendAsync(Get("/key", apiKey: key));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("ApiKey realm=\"gateway\", header=\"X-API-Key\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task Valid_credentials_pass_with_identity_headers_and_forged_ones_are_removed()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));

        using var jwtRequest = Get("/jwt", bearer: Tokens.Hs256(Tokens.Claims("alice", ["admin", "ops"])));
        jwtRequest.Headers.Add("X-User-Id", "mallory");
        jwtRequest.Headers.Add("X-Api-Key-Name", "forged");
        var jwtEcho = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(jwtRequest));
        Assert.Equal("alice", jwtEcho.Header("X-User-Id"));
        Assert.Equal("admin,ops", jwtEcho.Header("X-User-Roles"));
        Assert.Null(jwtEcho.Header("X-Api-Key-Name"));
        Assert.StartsWith("Bearer ", jwtEcho.Header("Authorization"), StringComparison.Ordinal);

        using var keyRequest = Get("/key", apiKey: "sk_admin_987654321");
        var keyEcho = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(keyRequest));
        Assert.Equal("admin-key", keyEcho.Header("X-Api-Key-Name"));
        Assert.Equal("admin", keyEcho.Header("X-User-Roles"));
        Assert.Null(keyEcho.Header("X-User-Id"));

        using var forgedOnPublic = Get("/public");
        forgedOnPublic.Headers.Add("X-User-Id", "mallory");
        forgedOnPublic.Headers.Add("X-User-Roles", "root");
        forgedOnPublic.Headers.Add("X-Api-Key-Name", "k");
        var publicEcho = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(forgedOnPublic));
        Assert.Null(publicEcho.Header("X-User-Id"));
        Assert.Null(publicEcho.Header("X-User-Roles"));
        Assert.Null(publicEcho.Header("X-Api-Key-Name"));

        var anyByKey = await gateway.Client.SendAsync(Get("/any", apiKey: "sk_test_123456789"));
        Assert.Equal(HttpStatusCode.OK, anyByKey.StatusCode);
        var anyByToken = await gateway.Client.SendAsync(Get("/any", bearer: Tokens.Hs256()));
        Assert.Equal(HttpStatusCode.OK, anyByToken.StatusCode);
        var anyNone = await gateway.Client.SendAsync(Get("/any"));
        Assert.Equal(HttpStatusCode.Unauthorized, anyNone.StatusCode);
        Assert.Contains("Bearer realm=\"gateway\", ApiKey realm=\"gateway\"", anyNone.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        var lines = await gateway.LogLinesAsync(l => l.Count(x => x.Contains("\"type\":\"access\"", StringComparison.Ordinal)) >= 6);
        Assert.Contains(lines, l => l.Contains("\"route\":\"jwt\"", StringComparison.Ordinal) && l.Contains("\"user\":\"alice\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Authorization_answers_403_for_missing_scope_role_or_claim()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/scoped", Tokens.Hs256(Tokens.Claims(scope: "orders.read orders.write profile"))))).StatusCode);
        using var oneScope = await gateway.Client.SendAsync(Get("/scoped", Tokens.Hs256(Tokens.Claims(scope: "orders.read"))));
        Assert.Equal(HttpStatusCode.Forbidden, oneScope.StatusCode);
        var problem = await ForwardingTests.AssertProblemAsync(oneScope, 403);
        Assert.Contains("orders.write", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var scp = Tokens.Claims();
        scp["scp"] = new[] { "orders.read", "orders.write" };
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/scoped", Tokens.Hs256(scp)))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.SendAsync(Get("/scoped", apiKey: "sk_admin_987654321"))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/roles", Tokens.Hs256(Tokens.Claims(roles: ["ops"]))))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.SendAsync(Get("/roles", Tokens.Hs256(Tokens.Claims(roles: ["user"]))))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/roles", apiKey: "sk_admin_987654321"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.SendAsync(Get("/roles", apiKey: "sk_test_123456789"))).StatusCode);

        var acme = Tokens.Claims();
        acme["tenant"] = "acme";
        var initech = Tokens.Claims();
        initech["tenant"] = "initech";
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/claims", Tokens.Hs256(acme)))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.SendAsync(Get("/claims", Tokens.Hs256(initech)))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Client.SendAsync(Get("/claims", Tokens.Hs256()))).StatusCode);
        Assert.Equal(5, backend.Requests);
    }

    [Fact]
    public async Task Optional_auth_token_sources_and_forwarding_of_credentials()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/optional"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(Get("/optional", bearer: "not.a.token"))).StatusCode);
        var optionalEcho = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(Get("/optional", bearer: Tokens.Hs256(Tokens.Claims("bob")))));
        Assert.Equal("bob", optionalEcho.Header("X-User-Id"));

        var hidden = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(Get("/hidden", bearer: Tokens.Hs256())));
        Assert.Null(hidden.Header("Authorization"));
        var hiddenKey = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(Get("/hidden", apiKey: "sk_test_123456789")));
        Assert.Null(hiddenKey.Header("X-API-Key"));

        using var cookie = Get("/cookie");
        cookie.Headers.Add("Cookie", "session=" + Tokens.Hs256());
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(cookie)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/cookie?access_token=" + Tokens.Hs256()))).StatusCode);
        using var cookieElsewhere = Get("/jwt");
        cookieElsewhere.Headers.Add("Cookie", "session=" + Tokens.Hs256());
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(cookieElsewhere)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(Get("/jwt?access_token=" + Tokens.Hs256()))).StatusCode);
    }

    [Fact]
    public async Task Secrets_never_appear_in_logs_or_error_bodies()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        var bodies = new StringBuilder();
        foreach (var request in new[]
        {
            Get("/jwt", bearer: Tokens.Hs256(secret: "a-different-secret-of-at-least-32-bytes!!")),
            Get("/key", apiKey: "sk_test_123456789"),
            Get("/key", apiKey: "sk_admin_98765432X"),
            Get("/jwt?access_token=sk_test_123456789"),
        })
        {
            using var response = await gateway.Client.SendAsync(request);
            if (!response.IsSuccessStatusCode)
            {
                // Error bodies come from the gateway (a success body is the backend's own echo).
                bodies.Append(await response.Content.ReadAsStringAsync()).Append(response.Headers);
            }
        }

        var all = string.Join('\n', await gateway.LogLinesAsync(l => l.Count(x => x.Contains("\"type\":\"access\"", StringComparison.Ordinal)) >= 4)) + bodies;
        foreach (var secret in new[] { Tokens.Secret, "sk_test_123456789", "sk_admin_98765432", "a-different-secret" })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Jwks_keys_rotate_refresh_at_most_every_30s_and_survive_an_outage()
    {
        using var keyA = System.Security.Cryptography.RSA.Create(2048);
        using var keyB = System.Security.Cryptography.RSA.Create(2048);
        var document = Tokens.Jwks((keyA, "a"));
        var fetches = 0;
        var down = false;
        await using var idp = await TestBackend.StartAsync(async context =>
        {
            Interlocked.Increment(ref fetches);
            if (down)
            {
                context.Response.StatusCode = 503;
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(Volatile.Read(ref document));
        });
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {algorithm: RS256, jwks_url: "{{{idp.Url}}}/jwks", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
            routes:
              - {path: /jwt, backend: "{{{backend.Url}}}", auth: {required: true}}
            """);

        using (var first = await gateway.Client.SendAsync(Get("/jwt", Tokens.Rs256(key: keyA, kid: "a"))))
        {
            Assert.True(first.StatusCode == HttpStatusCode.OK, await first.Content.ReadAsStringAsync() + string.Join('\n', await gateway.LogLinesAsync()));
        }

        var afterFirst = Volatile.Read(ref fetches);
        Assert.InRange(afterFirst, 1, 2);

        // Rotation: a token with the new key's kid makes the gateway fetch again and accept it.
        Volatile.Write(ref document, Tokens.Jwks((keyA, "a"), (keyB, "b")));
        await Task.Delay(100);
        var rotated = await gateway.Client.SendAsync(Get("/jwt", Tokens.Rs256(key: keyB, kid: "b")));
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var afterRotation = Volatile.Read(ref fetches);
        Assert.Equal(afterFirst + 1, afterRotation);

        // Unknown kids right after a refresh do not hammer the identity provider.
        for (var i = 0; i < 5; i++)
        {
            using var unknown = await gateway.Client.SendAsync(Get("/jwt", Tokens.Rs256(key: keyB, kid: "zzz" + i)));
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        }

        Assert.Equal(afterRotation, Volatile.Read(ref fetches));

        // The identity provider goes down: cached keys keep serving.
        down = true;
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/jwt", Tokens.Rs256(key: keyA, kid: "a")))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(Get("/jwt", Tokens.Rs256(key: keyA, kid: "a", claims: Tokens.Claims(expiresInSecs: -300))))).StatusCode);
    }

    [Fact]
    public async Task Oidc_discovery_finds_the_keys()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        string issuer = "";
        await using var idp = await TestBackend.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            if (context.Request.Path == "/.well-known/openid-configuration")
            {
                await context.Response.WriteAsync($$$"""{"issuer":"{{{issuer}}}","jwks_uri":"{{{issuer}}}/keys"}""");
            }
            else
            {
                await context.Response.WriteAsync(Tokens.Jwks((key, "k1")));
            }
        });
        issuer = idp.Url;
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {algorithm: RS256, oidc_issuer: "{{{issuer}}}"}
            routes:
              - {path: /jwt, backend: "{{{backend.Url}}}", auth: {required: true}}
            """);
        var claims = Tokens.Claims();
        claims["iss"] = issuer;
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(Get("/jwt", Tokens.Rs256(claims, key, "k1")))).StatusCode);
    }

    [Fact]
    public async Task Unreachable_identity_provider_without_cached_keys_is_503_not_a_hang()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              jwt: {algorithm: RS256, jwks_url: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}/jwks"}
            routes:
              - {path: /jwt, backend: "{{{backend.Url}}}", auth: {required: true}}
            """);
        using var response = await gateway.Client.SendAsync(Get("/jwt", Tokens.Rs256(kid: "a")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(0, backend.Requests);
    }
}
