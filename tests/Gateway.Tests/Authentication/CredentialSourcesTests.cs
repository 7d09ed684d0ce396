using System.Net;

namespace Gateway.Tests.Authentication;

/// <summary>
/// Every credential in every source a route reads is checked: a forged one riding beside a valid one is refused, and
/// so are valid ones of different callers (a backend could read any of them).
/// </summary>
public sealed class CredentialSourcesTests
{
    private const string UserKey = "sk_user_one_key_00000001";
    private const string PartnerKey = "sk_partner_key_000000001";

    private static string Config(string backend) => $$$"""
        auth:
          jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
          api_key:
            keys: {"{{{UserKey}}}": user-1, "{{{PartnerKey}}}": partner}
        routes:
          - {path: /strict, backend: "{{{backend}}}", auth: {required: true, token_cookie: session, token_query: access_token}}
          - {path: /optional, backend: "{{{backend}}}", auth: {required: false, token_cookie: session, token_query: access_token}}
          - {path: /kept, backend: "{{{backend}}}", auth: {required: true, forward_authorization: false, token_cookie: session, token_query: access_token}}
        """;

    private enum Source
    {
        Header,
        Cookie,
        Query,
        ApiKey,
    }

    private static readonly string Valid = Tokens.Hs256();
    private static readonly string Forged = Tokens.Hs256(secret: "a-different-secret-of-at-least-32-bytes!!");

    private static HttpRequestMessage Request(string path, params (Source Source, string Value)[] credentials)
    {
        var query = string.Join('&', credentials.Where(c => c.Source == Source.Query).Select(c => "access_token=" + c.Value));
        var request = new HttpRequestMessage(HttpMethod.Get, path + (query.Length > 0 ? "?" + query : ""));
        foreach (var (source, value) in credentials)
        {
            switch (source)
            {
                case Source.Header:
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + value);
                    break;
                case Source.Cookie:
                    request.Headers.TryAddWithoutValidation("Cookie", "theme=dark; session=" + value);
                    break;
                case Source.ApiKey:
                    request.Headers.TryAddWithoutValidation("X-API-Key", value);
                    break;
            }
        }

        return request;
    }

    private static string ValidFor(Source source) => source == Source.ApiKey ? UserKey : Valid;

    private static string ForgedFor(Source source) => source == Source.ApiKey ? "sk_forged_key_0000000000" : Forged;

    [Theory]
    [InlineData("/strict")]
    [InlineData("/optional")]
    public async Task A_forged_credential_beside_a_valid_one_is_refused_in_every_pair_of_sources(string path)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        var sources = Enum.GetValues<Source>();
        foreach (var valid in sources)
        {
            using (var alone = Request(path, (valid, ValidFor(valid))))
            {
                Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(alone)).StatusCode);
            }

            foreach (var forged in sources.Where(s => s != valid))
            {
                using var request = Request(path, (valid, ValidFor(valid)), (forged, ForgedFor(forged)));
                using var response = await gateway.Client.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"valid in {valid}, forged in {forged}: {response.StatusCode}");
            }
        }

        Assert.Equal(sources.Length, backend.Requests);
    }

    [Fact]
    public async Task Valid_credentials_of_different_callers_are_refused_and_of_one_caller_pass()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using (var different = Request("/strict", (Source.Header, Valid), (Source.ApiKey, PartnerKey)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(different)).StatusCode);
        }

        using (var otherUser = Request("/strict", (Source.Header, Valid), (Source.Cookie, Tokens.Hs256(Tokens.Claims(sub: "user-2")))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(otherUser)).StatusCode);
        }

        Assert.Equal(0, backend.Requests);
        using (var same = Request("/strict", (Source.Header, Valid), (Source.Cookie, Valid), (Source.Query, Valid), (Source.ApiKey, UserKey)))
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(same)).StatusCode);
        }
    }

    [Fact]
    public async Task Credentials_kept_at_the_gateway_are_removed_from_every_source()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        using var request = Request("/kept", (Source.Header, Valid), (Source.Cookie, Valid), (Source.Query, Valid), (Source.ApiKey, UserKey));
        request.Headers.TryAddWithoutValidation("X_API_Key", "a-second-spelling");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = await EchoedRequest.ReadAsync(response);
        Assert.Equal("/kept", echo.Target);
        Assert.Null(echo.Header("Authorization"));
        Assert.Null(echo.Header("X-API-Key"));
        Assert.Null(echo.Header("X_API_Key"));
        Assert.Equal("theme=dark", echo.Header("Cookie"));
        Assert.Equal("user-1", echo.Header("X-User-Id"));
    }

    [Fact]
    public async Task Other_spellings_of_a_credential_source_are_the_same_source()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url));
        foreach (var (target, header, value) in new[]
        {
            ("/strict?ACCESS_TOKEN=" + Forged, "Authorization", "Bearer " + Valid),
            ("/strict?Access_Token=" + Forged + "&access_token=" + Valid, "X-Note", "1"),
            ("/strict", "Cookie", "Session=" + Forged + "; session=" + Valid),
            ("/strict", "Cookie", "a=1, session=" + Forged),
            ("/optional", "Authorization", "Bearer\t" + Forged),
            ("/strict", "Authorization", "bearer " + Forged),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            request.Headers.TryAddWithoutValidation(header, value);
            if (header != "Authorization")
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Valid);
            }
            else if (target.StartsWith("/optional", StringComparison.Ordinal))
            {
                request.Headers.TryAddWithoutValidation("X-API-Key", UserKey);
            }

            using var response = await gateway.Client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{target} {header}: {value[..Math.Min(value.Length, 20)]} -> {response.StatusCode}");
        }

        Assert.Equal(0, backend.Requests);

        // A kept credential leaves in every spelling too.
        using var kept = new HttpRequestMessage(HttpMethod.Get, "/kept?ACCESS_TOKEN=" + Valid + "&x=1");
        kept.Headers.TryAddWithoutValidation("Cookie", "SESSION=" + Valid + "; theme=dark");
        var echo = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(kept));
        Assert.Equal("/kept?x=1", echo.Target);
        Assert.Equal("theme=dark", echo.Header("Cookie"));
    }
}
