using System.Net;
using System.Text.Json;
using Gateway.Configuration;

namespace Gateway.Tests.Logging;

/// <summary>
/// What the logs never carry (credentials, the API key, configured headers and query parameters), one line per request
/// with every field, and sampling that thins successes only.
/// </summary>
public sealed class AccessLogRedactionTests
{
    private const string Key = "sk_live_key_never_logged_0042";
    private const string CookieValue = "session-cookie-never-logged-77";
    private const string SetCookieValue = "backend-set-cookie-never-logged-78";
    private const string Custom = "custom-header-secret-79";
    private const string QueryValue = "query-value-never-logged-80";
    private const string DroppedQuery = "dropped-query-value-81";

    [Theory]
    [InlineData("native", "json")]
    [InlineData("kestrel", "json")]
    [InlineData("native", "text")]
    public async Task No_secret_reaches_any_log_line(string codec, string format)
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.Headers.SetCookie = "sid=" + SetCookieValue;
            await TestBackend.EchoAsync(context);
        });
        var token = Tokens.Hs256(Tokens.Claims(sub: "alice"));
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, $$$"""
            logging:
              level: trace
              format: {{{format}}}
              redact:
                headers: [X-Internal-Secret, User-Agent]
                query: [proof]
            auth:
              jwt: {secret: "{{{Tokens.Secret}}}", algorithm: HS256, issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
              api_key:
                header: X-Partner-Key
                keys: {"{{{Key}}}": "partner"}
            routes:
              - {id: key, path: /key, backend: "{{{backend.Url}}}", auth: {required: true, methods: [apikey]}}
              - {id: jwt, path: /jwt, backend: "{{{backend.Url}}}", auth: {required: true, methods: [jwt]}}
              - {id: dead, path: /dead, backend: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"}
            """);
        async Task<HttpStatusCode> SendAsync(string path, params (string Name, string Value)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Cookie", "sid=" + CookieValue);
            request.Headers.TryAddWithoutValidation("X-Internal-Secret", Custom);
            request.Headers.TryAddWithoutValidation("User-Agent", "agent " + Custom);
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await gateway.Client.SendAsync(request);
            return response.StatusCode;
        }

        var query = $"?token={QueryValue}&proof={DroppedQuery}&page=2";
        Assert.Equal(HttpStatusCode.OK, await SendAsync("/key" + query, ("X-Partner-Key", Key)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("/key" + query, ("X-Partner-Key", Key + "x")));
        Assert.Equal(HttpStatusCode.OK, await SendAsync("/jwt" + query, ("Authorization", "Bearer " + token)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("/jwt" + query, ("Authorization", "Bearer " + token + "x")));
        Assert.Equal(HttpStatusCode.BadGateway, await SendAsync("/dead" + query, ("Authorization", "Basic " + Custom)));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync("/nowhere" + query, ("X-Partner-Key", Key)));

        var lines = await gateway.LogLinesAsync(l => l.Count(x => AccessLines.IsJsonAccess(x) || AccessLines.IsTextAccess(x)) >= 6);
        Assert.Equal(6, lines.Count(x => AccessLines.IsJsonAccess(x) || AccessLines.IsTextAccess(x)));
        var all = string.Join('\n', lines);
        foreach (var secret in new[] { Key, CookieValue, SetCookieValue, Custom, QueryValue, DroppedQuery, token, token.Split('.')[2] })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }

        // Query names stay with their values masked; a listed parameter is gone whole; a listed User-Agent is masked.
        Assert.Contains(format == "json" ? "\"path\":\"/key?token=***\\u0026page=***\"" : "path=\"/key?token=***&page=***\"", all, StringComparison.Ordinal);
        Assert.DoesNotContain("proof", all, StringComparison.Ordinal);
        Assert.Contains(format == "json" ? "\"user_agent\":\"***\"" : "user_agent=***", all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_malformed_request_line_or_header_line_never_puts_its_secret_in_the_log(string codec)
    {
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, """
            logging: {level: trace}
            routes:
              - {id: mock, path: /open/*rest, mock: {status: 200}}
            """);
        await gateway.SendRawAsync("GET /open/a HTTP/1.1\r\nHost: t\r\nAuthorization Bearer HEADER-LINE-SECRET\r\n\r\n");
        await gateway.SendRawAsync("GET /open/a HTTP/1.1\r\nHost: t\r\nAuthorization : Bearer SPACED-SECRET\r\n\r\n");
        await gateway.SendRawAsync("GET /open/a?token=REQUEST-LINE-SECRET extra HTTP/1.1\r\nHost: t\r\n\r\n");
        using (var ok = await gateway.Client.GetAsync("/open/after"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var all = string.Join('\n', await gateway.LogLinesAsync(l => l.Any(x => x.Contains("/open/after", StringComparison.Ordinal))));
        foreach (var secret in new[] { "HEADER-LINE-SECRET", "SPACED-SECRET", "REQUEST-LINE-SECRET" })
        {
            Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Every_request_has_one_line_with_every_field(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, $$$"""
            routes:
              - {id: ok, path: /ok, backend: "{{{backend.Url}}}"}
              - {id: mock, path: /mock, mock: {status: 418}}
              - {id: dead, path: /dead, backend: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"}
            """);
        var requests = new[] { ("/ok?a=1", 200), ("/mock", 418), ("/dead", 502), ("/missing", 404) };
        var ids = new List<string>();
        foreach (var (path, status) in requests)
        {
            var id = "req-" + Guid.NewGuid().ToString("N");
            ids.Add(id);
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-Request-Id", id);
            using var response = await gateway.Client.SendAsync(request);
            Assert.Equal(status, (int)response.StatusCode);
        }

        for (var i = 0; i < ids.Count; i++)
        {
            var line = await AccessLines.JsonForAsync(gateway, ids[i]);
            Assert.Equal(AccessLines.JsonFields, line.EnumerateObject().Select(p => p.Name));
            Assert.Equal(requests[i].Item2, line.GetProperty("status").GetInt32());
            Assert.Matches("^[0-9a-f]{32}$", line.GetProperty("trace_id").GetString());
            Assert.Equal(JsonValueKind.Number, line.GetProperty("duration_ms").ValueKind);
        }
    }

    [Fact]
    public async Task Sampling_keeps_every_error_and_thins_successes()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            logging:
              sample: {success_ratio: 0}
            routes:
              - {id: ok, path: /ok, backend: "{{{backend.Url}}}"}
              - {id: teapot, path: /teapot, mock: {status: 418}}
              - {id: broken, path: /broken, mock: {status: 503}}
            """);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/ok")).StatusCode);
            Assert.Equal(418, (int)(await gateway.Client.GetAsync("/teapot")).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync("/broken")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync("/none")).StatusCode);
        }

        var lines = await AccessLines.JsonAsync(gateway, 60);
        Assert.Equal(60, lines.Length);
        Assert.DoesNotContain(lines, l => l.GetProperty("status").GetInt32() < 400);
        Assert.Equal(20, lines.Count(l => l.GetProperty("status").GetInt32() == 418));
        Assert.Equal(20, lines.Count(l => l.GetProperty("status").GetInt32() == 503));
        Assert.Equal(20, lines.Count(l => l.GetProperty("status").GetInt32() == 404));
    }

    [Theory]
    [InlineData("logging:\n  redact: {headers: [\"bad header\"]}\n", "test.yaml:2:22: logging.redact.headers[0]: 'bad header' is not a valid header name")]
    [InlineData("logging:\n  redact: {query: [\"\"]}\n", "test.yaml:2:20: logging.redact.query[0]: must name a query parameter")]
    public void Redaction_keys_are_validated_at_their_location(string yaml, string expected)
    {
        var result = ConfigLoader.LoadText(yaml, "test.yaml", Directory.GetCurrentDirectory());
        Assert.Equal(expected, Assert.Single(result.Errors).ToString());
    }
}
