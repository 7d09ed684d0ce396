using System.Net;
using Gateway.Cli;
using Gateway.Configuration;
using Gateway.Transforms;

namespace Gateway.Tests.Transforms;

/// <summary>What a transform config may say (each problem at its key), its templates, and what the offline verbs show.</summary>
public sealed class TransformConfigTests
{
    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, "t.yaml", Directory.GetCurrentDirectory(), _ => null);

    [Theory]
    [InlineData("request: {set_headers: {Transfer-Encoding: chunked}}", "routes[0].transform.request.set_headers.Transfer-Encoding", "frames the message")]
    [InlineData("request: {add_headers: {content-length: '5'}}", "routes[0].transform.request.add_headers.content-length", "frames the message")]
    [InlineData("request: {remove_headers: [Connection]}", "routes[0].transform.request.remove_headers[0]", "frames the message")]
    [InlineData("request: {add_headers: {Upgrade: h2c}}", "routes[0].transform.request.add_headers.Upgrade", "frames the message")]
    [InlineData("response: {set_headers: {Content-Length: '0'}}", "routes[0].transform.response.set_headers.Content-Length", "frames the message")]
    [InlineData("response: {add_headers: {Trailer: x}}", "routes[0].transform.response.add_headers.Trailer", "frames the message")]
    [InlineData("request: {set_headers: {X-User-Id: admin}}", "routes[0].transform.request.set_headers.X-User-Id", "identity header")]
    [InlineData("request: {remove_headers: [x_user_roles]}", "routes[0].transform.request.remove_headers[0]", "identity header")]
    [InlineData("request: {add_headers: {Host: a.example}}", "routes[0].transform.request.add_headers.Host", "only set_headers")]
    [InlineData("request: {set_headers: {Host: '{header:X-Host}'}}", "routes[0].transform.request.set_headers.Host", "no placeholders")]
    [InlineData("request: {set_headers: {Content-Type: text/plain}}", "routes[0].transform.request.set_headers.Content-Type", "describes the request body")]
    [InlineData("request: {set_headers: {X-A: '{nope}'}}", "routes[0].transform.request.set_headers.X-A", "unknown placeholder '{nope}'")]
    [InlineData("request: {set_headers: {X-A: 'a}b'}}", "routes[0].transform.request.set_headers.X-A", "lone '}'")]
    [InlineData("request: {set_headers: {X-A: '{client_ip'}}", "routes[0].transform.request.set_headers.X-A", "no closing")]
    [InlineData("request: {set_headers: {X-A: '{header:Authorization}'}}", "routes[0].transform.request.set_headers.X-A", "credential")]
    [InlineData("request: {set_headers: {X-A: '{header:X-User-Id}'}}", "routes[0].transform.request.set_headers.X-A", "never trusted")]
    [InlineData("request: {query_params: {add: {k: '{header:Cookie}'}}}", "routes[0].transform.request.query_params.add.k", "credential")]
    [InlineData("request: {query_params: {add: {k: v}, remove: [K]}}", "routes[0].transform.request.query_params.remove[0]", "already edited")]
    [InlineData("request: {set_headers: {X-A: a}, remove_headers: [x-a]}", "routes[0].transform.request.remove_headers[0]", "already transformed")]
    [InlineData("request: {path_rewrites: [{pattern: '^/(a', replacement: /b}]}", "routes[0].transform.request.path_rewrites[0].pattern", "regex does not compile")]
    [InlineData("request: {path_rewrites: [{pattern: '^/(a)', replacement: /b/$2}]}", "routes[0].transform.request.path_rewrites[0].replacement", "'$2' names a group")]
    [InlineData("request: {path_rewrites: [{pattern: '^/(a)', replacement: '/b/$x'}]}", "routes[0].transform.request.path_rewrites[0].replacement", "not a group reference")]
    [InlineData("request: {path_rewrites: [{pattern: '^/(a)', replacement: '/b/../$1'}]}", "routes[0].transform.request.path_rewrites[0].replacement", "cannot be sent")]
    [InlineData("request: {path_rewrites: [{pattern: '^/(a)', replacement: '/b%2F$1'}]}", "routes[0].transform.request.path_rewrites[0].replacement", "encoded slashes")]
    [InlineData("request: {path_rewrites: [{pattern: '^/(a)', replacement: '/b?x=$1'}]}", "routes[0].transform.request.path_rewrites[0].replacement", "query_params")]
    [InlineData("request: {path_rewrites: [{pattern: '^/(a)', replacement: '/b\\\\$1'}]}", "routes[0].transform.request.path_rewrites[0].replacement", "a backslash")]
    [InlineData("response: {set_headers: {X-Note: \"Migr\u00e9\"}}", "routes[0].transform.response.set_headers.X-Note", "printable ASCII")]
    [InlineData("request: {set_headers: {X-Ctl: \"a\\x01b\"}}", "routes[0].transform.request.set_headers.X-Ctl", "control characters")]
    [InlineData("response: {add_headers: {X-Ctl: \"a\\x1bb\"}}", "routes[0].transform.response.add_headers.X-Ctl", "control characters")]
    [InlineData("request: {set_headers: {Host: '[::1]junk/x'}}", "routes[0].transform.request.set_headers.Host", "not a host name")]
    [InlineData("request: {set_headers: {Host: 'a.example:+80'}}", "routes[0].transform.request.set_headers.Host", "not a host name")]
    [InlineData("request: {set_headers: {Host: '1.2.3.4.5'}}", "routes[0].transform.request.set_headers.Host", "not a host name")]
    [InlineData("request: {set_headers: {Host: 'a.example:0'}}", "routes[0].transform.request.set_headers.Host", "not a host name")]
    public void A_transform_that_cannot_be_honoured_safely_is_an_error_at_its_key(string transform, string path, string message)
    {
        var result = Load($"routes:\n  - path: /a/*rest\n    backend: http://127.0.0.1:9\n    transform: {{{transform}}}\n");
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(4, error.Line);
        Assert.True(error.Column > 1, error.ToString());
    }

    [Fact]
    public void A_backtracking_pattern_a_header_the_cors_policy_or_the_cache_owns_and_a_claim_without_auth_are_warned_about()
    {
        var result = Load("""
            routes:
              - path: /a
                backend: http://127.0.0.1:9
                cors: {allowed_origins: ["https://app.example"]}
                cache: {enabled: true}
                transform:
                  request:
                    path_rewrites: [{pattern: '^/(\w)\1', replacement: '/x'}]
                  response:
                    set_headers: {Access-Control-Allow-Origin: "*"}
                    add_headers: {X-Cache-Status: enabled, X-Claim: "{claim:team}"}
            """);
        Assert.False(result.HasErrors, string.Join('\n', result.Problems));
        Assert.Contains(result.Warnings, w => w.Path == "routes[0].transform.request.path_rewrites[0].pattern" && w.Message.Contains("backtracking", StringComparison.Ordinal) && w.Line == 8);
        Assert.Contains(result.Warnings, w => w.Path == "routes[0].transform.response.set_headers.Access-Control-Allow-Origin" && w.Message.Contains("CORS policy", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.Path == "routes[0].transform.response.add_headers.X-Cache-Status" && w.Message.Contains("response cache", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.Path == "routes[0].transform.response.add_headers.X-Claim" && w.Message.Contains("no auth block", StringComparison.Ordinal));
    }

    [Fact]
    public void Transforms_are_no_longer_reported_as_unenforced()
    {
        var result = Load("routes:\n  - path: /a\n    backend: http://127.0.0.1:9\n    transform: {request: {add_headers: {X-A: '1'}}}\n");
        Assert.Empty(result.Problems);
        var runtime = ConfigCompiler.Compile(result.Config!, 1, DateTimeOffset.UnixEpoch);
        Assert.Null(runtime.Routes[0].Unavailable);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    [InlineData("{{literal}}", "{literal}")]
    [InlineData("a {{b}} c", "a {b} c")]
    public void A_template_without_placeholders_is_its_constant(string text, string constant)
    {
        Assert.True(ValueTemplate.TryParse(text, out var template, out var error), error);
        Assert.Equal(constant, template.Constant);
    }

    [Theory]
    [InlineData("/a/b", true)]
    [InlineData("/a/./b", false)]
    [InlineData("/a/../b", false)]
    [InlineData("/a/%2e%2E/b", false)]
    [InlineData("/a/.%2e", false)]
    [InlineData("/a/..;x/b", false)]
    [InlineData("/a/...", true)]
    [InlineData("/a/.b", true)]
    [InlineData("/a%2Fb", false)]
    [InlineData("/a%00", false)]
    [InlineData("/a?b", false)]
    [InlineData("/a\r\n", false)]
    [InlineData("/..%3Bfoo/admin", false)]
    [InlineData("/%2E%2E%3bx/admin", false)]
    [InlineData("/a\\b", false)]
    [InlineData("/a/b\u0085", false)]
    public void A_rewritten_path_goes_upstream_only_when_it_is_safe(string path, bool sendable) =>
        Assert.Equal(sendable, PathRewrite.IsSendable(path, allowEncodedSlashes: false));

    [Fact]
    public async Task Explain_shows_the_rewritten_upstream_request_and_the_running_gateway_sends_exactly_it()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var yaml = $$$"""
            routes:
              - id: legacy
                path: /legacy/*path
                backend: "{{{backend.Url}}}"
                transform:
                  request:
                    path_rewrites: [{pattern: '^/legacy/(.*)$', replacement: "/modern/$1"}]
                    set_headers: {Accept: application/json, X-Forwarded-Proto: https}
                    add_headers: {X-Route: "{route}"}
                    remove_headers: [X-Legacy-Header]
                    query_params: {add: {version: new}, remove: [old_param]}
            """;
        await using var gateway = await TestGateway.StartAsync(yaml);
        var runtime = ConfigCompiler.Compile(Load(yaml).Config!, 1, DateTimeOffset.UnixEpoch);
        string[] headers = ["Host: " + gateway.Client.BaseAddress!.Authority, "X-Request-Id: explain-transform-0001", "Accept: text/html", "X-Legacy-Header: 1", "Connection: close"];
        var (offline, error) = await OfflineEvaluation.EvaluateAsync(runtime, "GET", "/legacy/a%20b/c?old_param=1&k=v", headers, IPAddress.Loopback);
        Assert.True(offline?.Plan is not null, error);
        var plan = offline!.Plan!;
        Assert.Equal($"{backend.Url}/modern/a%20b/c?k=v&version=new", plan.Url);
        Assert.Contains(new KeyValuePair<string, string>("Accept", "application/json"), plan.Headers);
        Assert.Contains(new KeyValuePair<string, string>("X-Forwarded-Proto", "https"), plan.Headers);
        Assert.Contains(new KeyValuePair<string, string>("X-Route", "legacy"), plan.Headers);
        Assert.Contains("X-Legacy-Header", plan.Removed);

        var raw = await gateway.SendRawAsync("GET /legacy/a%20b/c?old_param=1&k=v HTTP/1.1\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n");
        var echo = EchoedRequest.Parse(raw);
        Assert.Equal(new Uri(plan.Url).PathAndQuery, echo.Target);
        var expected = plan.Headers.Where(h => h.Key != "traceparent").OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase).ToList();
        var seen = echo.Headers.Where(h => h.Key != "traceparent").OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase).ToList();
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task The_transform_example_and_its_route_tests_pass_with_the_test_verb()
    {
        var (code, stdout, stderr) = await GatewayProcess.RunAsync(Paths.Repository, "test", "examples/transforms.yaml", "examples/transforms-cases.yaml");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("3 passed, 0 failed", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_explain_verb_prints_the_rewritten_request_and_routes_describes_the_transform()
    {
        var dir = Directory.CreateTempSubdirectory("gateway-transform-").FullName;
        try
        {
            var config = Path.Combine(dir, "t.yaml");
            await File.WriteAllTextAsync(config, """
                routes:
                  - id: v1
                    path: /v1/*path
                    backend: http://127.0.0.1:3001
                    transform:
                      request:
                        path_rewrites: [{pattern: '^/v1/(.*)$', replacement: "/api/v2/$1"}]
                        set_headers: {X-Api-Version: v2}
                        remove_headers: [X-Debug]
                        query_params: {add: {migrated: "true"}}
                      response:
                        add_headers: {X-Migration-Notice: "Migrated from v1 to v2"}
                """);
            var (code, explained, stderr) = await GatewayProcess.RunAsync(dir, "explain", config, "GET", "http://api.test/v1/users?x=1", "-H", "X-Debug: 1");
            Assert.True(code == 0, stderr);
            Assert.Contains("upstream    GET http://127.0.0.1:3001/api/v2/users?x=1&migrated=true", explained, StringComparison.Ordinal);
            Assert.Contains("  header    X-Api-Version: v2", explained, StringComparison.Ordinal);
            Assert.Contains("  removed   X-Debug", explained, StringComparison.Ordinal);
            Assert.Contains("  response  add X-Migration-Notice: Migrated from v1 to v2", explained, StringComparison.Ordinal);
            Assert.Contains("transform(request: headers set 1, remove 1, rewrites 1, query 1; response: headers add 1)", explained, StringComparison.Ordinal);

            var (routesCode, routes, _) = await GatewayProcess.RunAsync(dir, "routes", config);
            Assert.Equal(0, routesCode);
            Assert.Contains("transform(request:", routes, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
