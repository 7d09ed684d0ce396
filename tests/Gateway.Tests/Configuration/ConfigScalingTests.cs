using System.Text;
using CsCheck;
using Gateway.Configuration;
using Gateway.Routing;

namespace Gateway.Tests.Configuration;

/// <summary>
/// Loading stays near linear in the number of routes, and each faster step gives exactly what the
/// straightforward (quadratic) one gave: the same shadowed-route warnings naming the same routes, the same
/// derived ids, the same hidden secrets.
/// </summary>
public sealed class ConfigScalingTests
{
    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, "gw.yaml", ".", _ => null);

    private static readonly Gen<string> Path = Gen.OneOfConst("/a", "/a/:x", "/a/{y}", "/a/*rest", "/a/{**all}", "/b", "/b/:x/c");
    private static readonly Gen<string[]?> Methods = Gen.Select(
        Gen.Int[0, 5],
        Gen.OneOfConst("GET", "get", "POST", "PUT", "DELETE", "PURGE").Array[1, 4],
        (kind, methods) => kind switch { 0 => null, 1 => [], _ => methods });

    private static readonly Gen<(string Path, int Priority, string[]? Methods, bool Host)> Route =
        Gen.Select(Path, Gen.Int[0, 1], Methods, Gen.Int[0, 9].Select(n => n == 0), (path, priority, methods, host) => (path, priority, methods, host));

    /// <summary>The check as it was: every later route against every earlier one.</summary>
    private static List<string> ShadowedByBruteForce(GatewayConfig config)
    {
        var warnings = new List<string>();
        var patterns = config.Routes.Select(r => RoutePattern.TryParse(r.Path, out var p, out _) ? p : null).ToArray();
        static bool HasConditions(RouteConfig r) => r.Hosts is { Count: > 0 } || r.Headers is { Count: > 0 } || r.Query is { Count: > 0 };
        for (var j = 0; j < config.Routes.Count; j++)
        {
            var later = config.Routes[j];
            if (patterns[j] is null || HasConditions(later))
            {
                continue;
            }

            for (var i = 0; i < j; i++)
            {
                var earlier = config.Routes[i];
                if (patterns[i] is null || HasConditions(earlier) || earlier.Priority != later.Priority || patterns[i]!.Canonical != patterns[j]!.Canonical)
                {
                    continue;
                }

                if (earlier.Methods is null or { Count: 0 }
                    || (later.Methods is { Count: > 0 } && later.Methods.All(m => earlier.Methods.Contains(m, StringComparer.OrdinalIgnoreCase))))
                {
                    warnings.Add($"routes[{j}]: is never reached: routes[{i}] ('{earlier.Path}') has the same path and takes all of its methods");
                    break;
                }
            }
        }

        return warnings;
    }

    private static string Yaml(IEnumerable<(string Path, int Priority, string[]? Methods, bool Host)> routes) =>
        "routes:\n" + string.Concat(routes.Select(r =>
            $"  - {{path: \"{r.Path}\", backend: \"http://127.0.0.1:1\", priority: {r.Priority}"
            + (r.Methods is null ? "" : $", methods: [{string.Join(", ", r.Methods)}]")
            + (r.Host ? ", hosts: [a.example.com]" : "") + "}\n"));

    [Fact]
    public void Shadowed_route_warnings_are_those_of_the_pairwise_check()
    {
        Route.Array[1, 14].Sample(routes =>
        {
            var result = Load(Yaml(routes));
            var expected = ShadowedByBruteForce(result.Config!);
            var actual = result.Warnings.Where(w => w.Message.StartsWith("is never reached", StringComparison.Ordinal)).Select(w => $"{w.Path}: {w.Message}").ToList();
            Assert.Equal(expected, actual);
        }, iter: 3_000);
    }

    /// <summary>Ids as they were assigned: each derived id tries -2, -3, ... from the start.</summary>
    private static string[] IdsByBruteForce(IReadOnlyList<RouteConfig> routes)
    {
        var taken = new HashSet<string>(routes.Where(r => r.Id is not null).Select(r => r.Id!), StringComparer.Ordinal);
        var result = new string[routes.Count];
        var derivedOf = typeof(RouteIds).GetMethod("Derive", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        for (var i = 0; i < routes.Count; i++)
        {
            if (routes[i].Id is { } id)
            {
                result[i] = id;
                continue;
            }

            var derived = (string)derivedOf.Invoke(null, [routes[i].Path])!;
            var candidate = derived;
            for (var n = 2; !taken.Add(candidate); n++)
            {
                candidate = $"{derived}-{n}";
            }

            result[i] = candidate;
        }

        return result;
    }

    [Fact]
    public void Derived_ids_are_those_of_the_step_by_step_search()
    {
        var route = Gen.Select(Gen.OneOfConst("/a", "/a/:x", "/a/x", "/a-x", "/a/x-2", "/b"), Gen.OneOfConst<string?>(null, null, null, "a", "a-2", "a-x", "a-x-2", "a-x-3", "b-2"),
            (path, id) => new RouteConfig { Path = path, Id = id });
        route.Array[1, 20].Sample(routes => Assert.Equal(IdsByBruteForce(routes), RouteIds.Assign(routes)), iter: 3_000);
    }

    [Fact]
    public void Hidden_values_are_those_of_replacing_each_in_turn()
    {
        var text = Gen.OneOfConst("ab", "abc", "b", "cab", "x", "abab", "ca").Array[1, 4].Select(string.Concat);
        Gen.Select(Gen.Select(text, Gen.Int[0, 99]).Array[0, 8], text.Array[1, 5]).Sample((values, messageParts) =>
        {
            var recorded = new InterpolatedValues();
            var oracle = new List<(string, string)>();
            foreach (var (value, n) in values)
            {
                var reference = $"${{V{n}}}";
                recorded.Add(value, reference);
                if (!oracle.Contains((value, reference)))
                {
                    oracle.Add((value, reference));
                }
            }

            var message = string.Join(' ', messageParts);
            var expected = message;
            foreach (var (value, reference) in oracle)
            {
                expected = expected.Replace(value, reference, StringComparison.Ordinal);
            }

            // Replacing in turn can create a match the original message did not have; the index looks at the
            // message as given, which hides the same values whenever no reference contains another value.
            if (oracle.Any(o => oracle.Any(p => o.Item2.Contains(p.Item1, StringComparison.Ordinal))))
            {
                return;
            }

            Assert.Equal(expected, recorded.Hide(message));
        }, iter: 5_000);
    }

    private static string Table(int count)
    {
        var yaml = new StringBuilder("routes:\n");
        for (var i = 0; i < count; i++)
        {
            var path = (i % 4) switch
            {
                0 => $"/svc{i}/items",
                1 => $"/svc{i}/items/:id",
                2 => $"/svc{i}/static/*rest",
                _ => $"/svc{i}/{{name}}/detail",
            };
            yaml.Append(i % 3 == 0 ? $"  - id: r{i}\n    path: {path}\n" : $"  - path: {path}\n");
            yaml.Append($"    backend: http://127.0.0.1:{3000 + (i % 100)}\n");
            if (i % 5 == 0)
            {
                yaml.Append("    methods: [GET, POST]\n");
            }

            if (i % 7 == 0)
            {
                yaml.Append($"    hosts: [h{i}.example.com]\n");
            }
        }

        return yaml.ToString();
    }

    [Fact]
    public void A_large_table_loads()
    {
        // Before, 10,000 routes took 7 s and 20,000 took 35 s (every pair compared); speed is measured by
        // ConfigLoadBenchmarks, this checks that such a table loads whole.
        var yaml = Table(30_000);
        var result = Load(yaml);
        Assert.False(result.HasErrors, string.Join('\n', result.Errors.Take(5)));
        Assert.Equal(30_000, result.Config!.Routes.Count);
    }

    [Fact]
    public void Many_routes_on_one_path_load_with_the_same_warnings_and_ids()
    {
        // One path, distinct methods: one group for the shadowing check, and one derived id for all of them.
        var yaml = new StringBuilder("routes:\n");
        for (var i = 0; i < 20_000; i++)
        {
            yaml.Append($"  - {{path: /same, backend: \"http://127.0.0.1:1\", methods: [M{i}, GET]}}\n");
        }

        yaml.Append("  - {path: /same, backend: \"http://127.0.0.1:1\", methods: [get]}\n");
        var result = Load(yaml.ToString());
        var shadowed = Assert.Single(result.Warnings, w => w.Message.StartsWith("is never reached", StringComparison.Ordinal));
        Assert.Equal("routes[20000]", shadowed.Path);
        Assert.Contains("routes[0] ('/same')", shadowed.Message, StringComparison.Ordinal);
        var ids = RouteIds.Assign(result.Config!.Routes);
        Assert.Equal(["same", "same-2", "same-3"], ids[..3]);
        Assert.Equal("same-20001", ids[^1]);
    }

    [Fact]
    public void A_path_with_thousands_of_segments_compiles()
    {
        // The route trie has a level per segment; building it recursively overflowed the stack.
        var path = string.Concat(Enumerable.Repeat("/a", 100_000));
        var result = Load($"routes:\n  - {{path: \"{path}\", backend: \"http://127.0.0.1:1\"}}\n");
        Assert.False(result.HasErrors, string.Join('\n', result.Errors));
        var runtime = ConfigCompiler.Compile(result.Config!, 1, DateTimeOffset.UnixEpoch);
        Assert.Single(runtime.Routes);
    }
}
