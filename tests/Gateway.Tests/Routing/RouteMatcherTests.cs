using CsCheck;
using Gateway.Configuration;
using Gateway.Routing;

namespace Gateway.Tests.Routing;

public sealed class RouteMatcherTests
{
    internal static RuntimeConfig Compile(string yaml)
    {
        var loaded = ConfigLoader.LoadText(yaml, "t.yaml", Directory.GetCurrentDirectory(), _ => null);
        Assert.False(loaded.HasErrors, string.Join('\n', loaded.Problems));
        return ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
    }

    private static RequestSpec Request(string host = "localhost", params (string Name, string Value)[] headers) => new(host, headers, "");

    /// <summary>What a test request carries besides its method and path.</summary>
    private sealed record RequestSpec(string Host, (string Name, string Value)[] Headers, string Query);

    internal static Gateway.Pipeline.Exchange Exchange(RuntimeConfig config, string method, string path, string host = "localhost", string query = "", params (string Name, string Value)[] headers)
    {
        Assert.True(Gateway.Pipeline.OfflineChannel.TryCreate(config, method, "http://" + host + path + query, headers.Select(h => $"{h.Name}: {h.Value}"),
            System.Net.IPAddress.Loopback, out var exchange, out var error), error);
        exchange.Query = query;
        return exchange;
    }

    private static string? Match(RuntimeConfig config, string method, string path, RequestSpec? request = null)
    {
        request ??= Request();
        var match = config.Matcher.Match(method, path, Exchange(config, method, path, request.Host, request.Query, request.Headers));
        return match.Outcome == MatchOutcome.Matched ? match.Route!.Id : match.Outcome.ToString();
    }

    [Fact]
    public void Parameters_wildcards_and_precedence()
    {
        var config = Compile("""
            routes:
              - {id: catchall, path: "/*rest", backend: "http://127.0.0.1:1"}
              - {id: users-id, path: "/api/users/:id", backend: "http://127.0.0.1:1"}
              - {id: users-me, path: "/api/users/me", backend: "http://127.0.0.1:1"}
              - {id: api-any, path: "/api/{**rest}", backend: "http://127.0.0.1:1"}
              - {id: users-x-y, path: "/api/users/{id}/:y", backend: "http://127.0.0.1:1"}
              - {id: root, path: "/", backend: "http://127.0.0.1:1"}
            """);
        Assert.Equal("users-me", Match(config, "GET", "/api/users/me"));
        Assert.Equal("users-id", Match(config, "GET", "/api/users/42"));
        Assert.Equal("users-x-y", Match(config, "GET", "/api/users/42/z"));
        Assert.Equal("api-any", Match(config, "GET", "/api/users/42/z/w"));
        Assert.Equal("api-any", Match(config, "GET", "/api"));
        Assert.Equal("api-any", Match(config, "GET", "/api/"));
        Assert.Equal("api-any", Match(config, "GET", "/api/users"));
        Assert.Equal("root", Match(config, "GET", "/"));
        Assert.Equal("catchall", Match(config, "GET", "/other/thing"));
        Assert.Equal("catchall", Match(config, "GET", "/API/users/me"));
    }

    [Fact]
    public void Priority_wins_over_specificity()
    {
        var config = Compile("""
            routes:
              - {id: exact, path: "/a/b", backend: "http://127.0.0.1:1"}
              - {id: wild, path: "/a/*r", backend: "http://127.0.0.1:1", priority: 5}
            """);
        Assert.Equal("wild", Match(config, "GET", "/a/b"));
    }

    [Fact]
    public void Methods_give_405_with_allow_from_every_matching_route()
    {
        var config = Compile("""
            routes:
              - {id: read, path: "/items/:id", methods: [GET, HEAD], backend: "http://127.0.0.1:1"}
              - {id: write, path: "/items/:id", methods: [put, DELETE], backend: "http://127.0.0.1:1"}
            """);
        Assert.Equal("read", Match(config, "GET", "/items/1"));
        Assert.Equal("write", Match(config, "PUT", "/items/1"));
        var match = config.Matcher.Match("POST", "/items/1", Exchange(config, "POST", "/items/1"));
        Assert.Equal(MatchOutcome.MethodNotAllowed, match.Outcome);
        Assert.Equal("DELETE, GET, HEAD, PUT", match.Allow);
        Assert.Equal("NotFound", Match(config, "GET", "/items"));
    }

    [Fact]
    public void Hosts_headers_and_query_narrow_a_route()
    {
        var config = Compile("""
            routes:
              - {id: plain, path: "/api", backend: "http://127.0.0.1:1"}
              - {id: host, path: "/api", hosts: ["*.example.com"], backend: "http://127.0.0.1:1"}
              - id: v2
                path: /api
                hosts: ["api.example.com"]
                headers: {X-Version: "2", X-Beta: {present: true}}
                backend: "http://127.0.0.1:1"
              - id: rx
                path: /api
                headers: {X-Client: {regex: "mobile-[0-9]+"}}
                backend: "http://127.0.0.1:1"
              - id: q
                path: /api
                query: {debug: "1"}
                backend: "http://127.0.0.1:1"
            """);
        Assert.Equal("plain", Match(config, "GET", "/api"));
        Assert.Equal("host", Match(config, "GET", "/api", Request("a.example.com")));
        Assert.Equal("host", Match(config, "GET", "/api", Request("A.B.Example.COM")));
        Assert.Equal("plain", Match(config, "GET", "/api", Request("example.com")));
        Assert.Equal("host", Match(config, "GET", "/api", Request("api.example.com", ("X-Version", "2"))));
        Assert.Equal("v2", Match(config, "GET", "/api", Request("api.example.com", ("X-Version", "2"), ("X-Beta", "yes"))));
        Assert.Equal("rx", Match(config, "GET", "/api", Request("localhost", ("X-Client", "mobile-12"))));
        Assert.Equal("plain", Match(config, "GET", "/api", Request("localhost", ("X-Client", "xmobile-12"))));
        Assert.Equal("q", Match(config, "GET", "/api", new RequestSpec("localhost", [], "?debug=1")));
    }

    [Theory]
    [InlineData("/v1/products/*path", "/v1/products/a/b", "/a/b")]
    [InlineData("/v1/products/*path", "/v1/products", "/")]
    [InlineData("/v1/products/*path", "/v1/products/", "/")]
    [InlineData("/api/users/:id", "/api/users/5", "/5")]
    [InlineData("/health", "/health", "/")]
    [InlineData("/:tenant/items", "/t1/items", "/t1/items")]
    public void Strip_prefix_removes_the_literal_prefix(string pattern, string path, string upstream)
    {
        Assert.True(RoutePattern.TryParse(pattern, out var parsed, out _));
        Assert.True(parsed!.TryMatch(path, out _));
        Assert.Equal(upstream, parsed.StripPrefix(path));
    }

    [Theory]
    [InlineData("api", "must start with '/'")]
    [InlineData("/a/*rest/b", "must be the last segment")]
    [InlineData("/a/:id/:id", "appears twice")]
    [InlineData("/a/x:id", null)]
    [InlineData("/a/{id}.json", "mixes text and a parameter")]
    [InlineData("/a//b", "empty segments")]
    [InlineData("/a/../b", "'.' or '..'")]
    [InlineData("/a/:", "needs a parameter name")]
    public void Pattern_errors(string pattern, string? error)
    {
        var ok = RoutePattern.TryParse(pattern, out _, out var message);
        if (error is null)
        {
            Assert.True(ok, message);
        }
        else
        {
            Assert.False(ok);
            Assert.Contains(error, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Derived_ids_are_unique_and_readable()
    {
        var config = Compile("""
            routes:
              - {path: "/api/users/:id", backend: "http://127.0.0.1:1", methods: [GET]}
              - {path: "/api/users/:id", backend: "http://127.0.0.1:1", methods: [PUT]}
              - {id: api-users-id-2, path: "/x", backend: "http://127.0.0.1:1"}
              - {path: "/", backend: "http://127.0.0.1:1"}
            """);
        Assert.Equal(["api-users-id", "api-users-id-3", "api-users-id-2", "root"], config.Routes.Select(r => r.Id));
    }

    private static readonly Gen<string> PatternSegment = Gen.OneOfConst("a", "b", "c", ":p", "{q}");
    private static readonly Gen<string> Pattern = Gen.Select(PatternSegment.Array[0, 4], Gen.Bool, (segments, wildcard) =>
        "/" + string.Join('/', wildcard ? [.. segments, "*rest"] : segments));

    private static readonly Gen<string> RequestPath = Gen.OneOfConst("a", "b", "c", "d").Array[0, 5].Select(s => "/" + string.Join('/', s));

    /// <summary>The trie picks exactly the route a brute-force scan of every route, in precedence order, picks.</summary>
    [Fact]
    public void Matcher_agrees_with_brute_force_precedence()
    {
        var routeGen = Gen.Select(Pattern, Gen.Int[-1, 1], Gen.OneOfConst<string[]?>(null, ["GET"], ["POST"]), (p, priority, methods) => (p, priority, methods));
        Gen.Select(routeGen.Array[1, 8], RequestPath.Array[1, 10], Gen.OneOfConst("GET", "POST")).Sample((routes, paths, method) =>
        {
            var yaml = "routes:\n" + string.Concat(routes.Select((r, i) =>
                $"  - {{path: \"{UniqueNames(r.p)}\", backend: \"http://127.0.0.1:1\", priority: {r.priority}{(r.methods is null ? "" : $", methods: [{r.methods[0]}]")}}}\n"));
            var loaded = ConfigLoader.LoadText(yaml, "p.yaml", ".", _ => null);
            if (loaded.HasErrors)
            {
                return;
            }

            var config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
            foreach (var path in paths)
            {
                var expected = config.Routes
                    .Where(r => r.Pattern.TryMatch(path, out _) && r.Conditions.AllowsMethod(method))
                    .OrderBy(r => r.Rank)
                    .FirstOrDefault();
                var actual = config.Matcher.Match(method, path, Exchange(config, method, "/"));
                Assert.Equal(expected?.Id, actual.Route?.Id);
                var anyPath = config.Routes.Any(r => r.Pattern.TryMatch(path, out _));
                var outcome = expected is not null ? MatchOutcome.Matched : anyPath ? MatchOutcome.MethodNotAllowed : MatchOutcome.NotFound;
                Assert.Equal(outcome, actual.Outcome);
            }
        }, iter: 3_000);
    }

    /// <summary>Precedence is a total order consistent with the rules, whatever the file order.</summary>
    [Fact]
    public void Ranks_follow_the_precedence_rules()
    {
        Gen.Select(Pattern, Pattern, Gen.Int[-1, 1], Gen.Int[-1, 1]).Sample((p1, p2, prio1, prio2) =>
        {
            var yaml = $"routes:\n  - {{id: one, path: \"{UniqueNames(p1)}\", backend: \"http://127.0.0.1:1\", priority: {prio1}}}\n"
                + $"  - {{id: two, path: \"{UniqueNames(p2)}\", backend: \"http://127.0.0.1:1\", priority: {prio2}}}\n";
            var config = ConfigCompiler.Compile(ConfigLoader.LoadText(yaml, "p.yaml", ".", _ => null).Config!, 1, DateTimeOffset.UnixEpoch);
            var (one, two) = (config.Routes[0], config.Routes[1]);
            var oneFirst = one.Rank < two.Rank;
            if (prio1 != prio2)
            {
                Assert.Equal(prio1 > prio2, oneFirst);
            }
            else if (one.Pattern.IsExact != two.Pattern.IsExact)
            {
                Assert.Equal(one.Pattern.IsExact, oneFirst);
            }
            else if (one.Pattern.LiteralCount != two.Pattern.LiteralCount)
            {
                Assert.Equal(one.Pattern.LiteralCount > two.Pattern.LiteralCount, oneFirst);
            }
            else if (one.Pattern.HasWildcard != two.Pattern.HasWildcard)
            {
                Assert.Equal(!one.Pattern.HasWildcard, oneFirst);
            }
            else
            {
                Assert.True(oneFirst);
            }
        }, iter: 2_000);
    }

    private static string UniqueNames(string pattern)
    {
        var n = 0;
        return string.Join('/', pattern.Split('/').Select(s => s switch
        {
            ":p" => $":p{n++}",
            "{q}" => $"{{q{n++}}}",
            _ => s,
        }));
    }

    [Fact]
    public void A_value_condition_never_matches_a_repeated_header_or_parameter()
    {
        var config = Compile("""
            routes:
              - {id: public, path: /t, backend: "http://127.0.0.1:1", headers: {X-Tenant: public}}
              - {id: public-q, path: /q, backend: "http://127.0.0.1:1", query: {tenant: public}}
              - {id: any, path: "/*rest", backend: "http://127.0.0.1:1"}
            """);
        Assert.Equal("public", Match(config, "GET", "/t", Request("localhost", ("X-Tenant", "public"))));
        Assert.Equal("any", Match(config, "GET", "/t", Request("localhost", ("X-Tenant", "public"), ("X-Tenant", "acme"))));
        Assert.Equal("public-q", Match(config, "GET", "/q", new RequestSpec("localhost", [], "?tenant=public")));
        Assert.Equal("any", Match(config, "GET", "/q", new RequestSpec("localhost", [], "?tenant=public&tenant=acme")));
        Assert.Equal("any", Match(config, "GET", "/q", new RequestSpec("localhost", [], "?TENANT=public&tenant=acme")));
    }
}
