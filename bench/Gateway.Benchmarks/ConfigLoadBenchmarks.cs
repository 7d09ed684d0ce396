using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Routing;

namespace Gateway.Benchmarks;

/// <summary>
/// Loading and validating a config as the route table grows from 1,000 to 100,000 routes: near linear, ten times
/// the routes taking about ten times as long (it was quadratic: 20,000 routes took 35 s).
/// </summary>
[MemoryDiagnoser]
public class ConfigLoadBenchmarks
{
    private string _yaml = null!;

    [Params(1_000, 10_000, 100_000)]
    public int Routes { get; set; }

    /// <summary>
    /// Distinct literal paths, parameters and wildcards; some routes with methods or hosts; ids given for a third
    /// and derived for the rest; every thousandth route shadowed by the one before it (a warning to find).
    /// </summary>
    internal static string Table(int count)
    {
        var yaml = new StringBuilder("routes:\n");
        for (var i = 0; i < count; i++)
        {
            var path = (i % 10) switch
            {
                1 => $"/svc{i}/items/:id",
                2 => $"/svc{i}/static/*rest",
                4 => $"/svc{i}/{{name}}/detail",
                _ => $"/svc{i}/items",
            };
            yaml.Append(i % 3 == 0 ? $"  - id: r{i}\n    path: {path}\n" : $"  - path: {path}\n");
            yaml.Append($"    backend: http://127.0.0.1:{3000 + (i % 100)}\n");
            if (i % 10 is 5 or 7)
            {
                yaml.Append("    methods: [GET, POST]\n");
            }
            else if (i % 10 == 8)
            {
                yaml.Append($"    hosts: [h{i}.example.com]\n");
            }

            if (i % 1000 == 999)
            {
                yaml.Append($"  - path: {path}\n    backend: http://127.0.0.1:1\n");
            }
        }

        return yaml.ToString();
    }

    [GlobalSetup]
    public void Setup() => _yaml = Table(Routes);

    /// <summary>What <c>gateway validate</c> does with the text: parse, bind, validate every route.</summary>
    [Benchmark]
    public int LoadAndValidate() => ConfigLoader.LoadText(_yaml, "bench.yaml", ".", _ => null).Problems.Count;
}

/// <summary>
/// Matching against large tables (the tables of <see cref="ConfigLoadBenchmarks"/>): flat from 10,000 to 100,000
/// routes, since the trie walks the request's segments whatever the number of routes.
/// </summary>
[MemoryDiagnoser]
public class LargeTableMatchBenchmarks
{
    private RouteMatcher _matcher = null!;
    private Pipeline.Exchange _request = null!;
    private string _literal = null!;
    private string _parameter = null!;
    private string _wildcard = null!;

    [Params(10_000, 100_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.LoadText(ConfigLoadBenchmarks.Table(Routes), "bench.yaml", ".", _ => null);
        if (loaded.HasErrors)
        {
            throw new InvalidOperationException(string.Join('\n', loaded.Errors.Take(10)));
        }

        var config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _matcher = config.Matcher;
        Pipeline.OfflineChannel.TryCreate(config, "GET", "/", [], System.Net.IPAddress.Loopback, out _request, out _);
        var middle = Routes / 2;
        _literal = $"/svc{middle}/items";
        _parameter = $"/svc{middle + 1}/items/12345";
        _wildcard = $"/svc{middle + 2}/static/css/site.css";
    }

    [Benchmark(Baseline = true)]
    public int Literal() => (int)_matcher.Match("GET", _literal, _request).Outcome;

    [Benchmark]
    public int Parameter() => (int)_matcher.Match("GET", _parameter, _request).Outcome;

    [Benchmark]
    public int Wildcard() => (int)_matcher.Match("GET", _wildcard, _request).Outcome;

    [Benchmark]
    public int NotFound() => (int)_matcher.Match("GET", "/nothing/here", _request).Outcome;
}
