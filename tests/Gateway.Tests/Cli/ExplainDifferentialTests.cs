using System.Net;
using System.Text.Json;
using Gateway.Cli;
using Gateway.Configuration;

namespace Gateway.Tests.Cli;

/// <summary>
/// <c>gateway explain</c> and <c>gateway test</c> decide with the stages themselves; this checks it from the outside: the
/// same requests through the running gateway and through the offline evaluation give the same route, status and
/// upstream request (target and headers).
/// </summary>
public sealed class ExplainDifferentialTests
{
    private static readonly string Token = Tokens.Hs256(Tokens.Claims(roles: ["admin"]));

    private static string Config(string backend) => $$$"""
        auth:
          jwt: {secret: "{{{Tokens.Secret}}}", issuer: "{{{Tokens.Issuer}}}", audience: "{{{Tokens.Audience}}}"}
          api_key:
            keys: {"sk_diff_key_000000000001": differ}
        routes:
          - {id: api, path: "/api/*rest", backend: "{{{backend}}}/v1", strip_prefix: true}
          - {id: users, path: "/users/:id", backend: "{{{backend}}}", methods: [GET, PUT]}
          - {id: hosted, path: /site, backend: "{{{backend}}}", hosts: [www.example.com, "*.example.org"], preserve_host: true}
          - {id: beta, path: /site, backend: "{{{backend}}}", headers: {X-Beta: "1"}}
          - {id: private, path: "/private/*rest", backend: "{{{backend}}}", auth: {required: true, forward_authorization: false, token_query: access_token, token_cookie: session}}
          - {id: admin, path: /admin, backend: "{{{backend}}}", auth: {required: true, roles: [admin]}}
          - {id: optional, path: /maybe, backend: "{{{backend}}}", auth: {required: false}}
          - {id: mocked, path: /mocked, mock: {status: 201, body: "made"}}
          - {id: listed, path: /echo, backend: "{{{backend}}}", methods: [GET, TRACE]}
        """;

    public static TheoryData<string, string, string[]> Corpus() => new()
    {
        { "GET", "/api/a/b?x=1&y=%20", [] },
        { "GET", "/api/%2e%2e/secret", [] },
        { "GET", "/api//double//slash", ["Connection: keep-alive, X-Drop-Me", "X-Drop-Me: 1"] },
        { "GET", "/users/42", ["X-User-Id: forged", "X_User_Id: forged", "X-Forwarded-For: 203.0.113.7", "Forwarded: for=203.0.113.7"] },
        { "DELETE", "/users/42", [] },
        { "GET", "/site", ["Host: www.example.com"] },
        { "GET", "/site", ["Host: a.example.org."] },
        { "GET", "/site", ["Host: other.test", "X-Beta: 1"] },
        { "GET", "/site", ["Host: other.test"] },
        { "GET", "/private/doc?access_token=" + Token + "&keep=1", ["Cookie: theme=dark"] },
        { "GET", "/private/doc", ["Authorization: Bearer " + Token, "Cookie: theme=dark; session=" + Token] },
        { "GET", "/private/doc", [] },
        { "GET", "/admin", ["Authorization: Bearer " + Tokens.Hs256()] },
        { "GET", "/admin", ["Authorization: Bearer " + Token] },
        { "GET", "/maybe", ["X-API-Key: sk_diff_key_000000000001"] },
        { "GET", "/maybe", ["X-API-Key: not-a-key"] },
        { "GET", "/mocked", [] },
        { "TRACE", "/api/x", [] },
        { "TRACE", "/echo", [] },
        { "GET", "/nowhere", [] },
        { "GET", "/users/1", ["traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate: a=1"] },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Explain_and_the_running_gateway_agree(string method, string url, string[] headers)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var yaml = Config(backend.Url);
        await using var gateway = await TestGateway.StartAsync(yaml);
        var loaded = ConfigLoader.LoadText(yaml, "diff.yaml", ".", _ => null);
        var runtime = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        var requestId = "diff-" + Guid.NewGuid().ToString("N");
        var lines = headers.Append("X-Request-Id: " + requestId).ToList();
        if (!lines.Any(l => l.StartsWith("Host:", StringComparison.Ordinal)))
        {
            lines.Add("Host: " + gateway.Client.BaseAddress!.Authority);
        }

        var (offline, error) = await OfflineEvaluation.EvaluateAsync(runtime, method, url, [.. lines, "Connection: close"], IPAddress.Loopback);
        Assert.True(offline is not null, error);

        // Raw bytes, so that the gateway sees exactly the headers explain was given (an HTTP client adds its own).
        lines.Add("Connection: close");
        var raw = await gateway.SendRawAsync($"{method} {url} HTTP/1.1\r\n" + string.Concat(lines.Select(l => l + "\r\n")) + "\r\n");
        var status = int.Parse(raw.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(offline!.Status, offline.Plan is not null && status == 200 ? 200 : status);
        var log = await gateway.LogLinesAsync(l => l.Any(x => x.Contains(requestId, StringComparison.Ordinal)));
        using var entry = JsonDocument.Parse(log.Single(l => l.Contains(requestId, StringComparison.Ordinal)));
        var liveRoute = entry.RootElement.GetProperty("route");
        Assert.Equal(offline.Exchange.Route?.Id, liveRoute.ValueKind == JsonValueKind.Null ? null : liveRoute.GetString());
        if (offline.Plan is not { } plan)
        {
            Assert.Equal(0, backend.Requests);
            return;
        }

        var echo = EchoedRequest.Parse(raw);
        Assert.Equal(new Uri(plan.Url).PathAndQuery, echo.Target);
        var expected = plan.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        var seen = echo.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        // The gateway's hop gets a new span id on every request, and a new trace when the client sent none.
        var continued = headers.Any(h => h.StartsWith("traceparent:", StringComparison.Ordinal));
        Assert.Equal(continued ? expected["traceparent"][..35] : expected["traceparent"][..3], seen["traceparent"][..(continued ? 35 : 3)]);
        expected.Remove("traceparent");
        seen.Remove("traceparent");
        Assert.Equal(expected.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase), seen.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase));
    }
}
