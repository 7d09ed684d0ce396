using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Routing;

namespace Gateway.Benchmarks;

/// <summary>Route matching cost and allocations as the table grows from 10 to 1,000 routes.</summary>
[MemoryDiagnoser]
public class RouteMatchingBenchmarks
{
    private RouteMatcher _matcher = null!;
    private Pipeline.Exchange _request = null!;
    private string _literal = null!;
    private string _parameter = null!;
    private string _wildcard = null!;

    [Params(10, 1000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var yaml = new StringBuilder("routes:\n");
        var services = Routes / 4;
        for (var i = 0; i < services; i++)
        {
            yaml.Append($"  - {{path: \"/svc{i}/items\", backend: \"http://127.0.0.1:1\", methods: [GET, POST]}}\n");
            yaml.Append($"  - {{path: \"/svc{i}/items/:id\", backend: \"http://127.0.0.1:1\", methods: [GET, PUT]}}\n");
            yaml.Append($"  - {{path: \"/svc{i}/items/:id/reviews/:review\", backend: \"http://127.0.0.1:1\"}}\n");
            yaml.Append($"  - {{path: \"/svc{i}/static/*rest\", backend: \"http://127.0.0.1:1\"}}\n");
        }

        for (var i = services * 4; i < Routes; i++)
        {
            yaml.Append($"  - {{path: \"/extra{i}\", backend: \"http://127.0.0.1:1\"}}\n");
        }

        var loaded = ConfigLoader.LoadText(yaml.ToString(), "bench.yaml", ".", _ => null);
        if (loaded.HasErrors)
        {
            throw new InvalidOperationException(string.Join('\n', loaded.Problems));
        }

        var config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _matcher = config.Matcher;
        Pipeline.OfflineChannel.TryCreate(config, "GET", "/", [], System.Net.IPAddress.Loopback, out _request, out _);
        var middle = services / 2;
        _literal = $"/svc{middle}/items";
        _parameter = $"/svc{middle}/items/12345/reviews/77";
        _wildcard = $"/svc{middle}/static/css/site.css";
    }

    [Benchmark(Baseline = true)]
    public int Literal() => (int)_matcher.Match("GET", _literal, _request).Outcome;

    [Benchmark]
    public int Parameters() => (int)_matcher.Match("GET", _parameter, _request).Outcome;

    [Benchmark]
    public int Wildcard() => (int)_matcher.Match("GET", _wildcard, _request).Outcome;

    [Benchmark]
    public int NotFound() => (int)_matcher.Match("GET", "/nothing/here", _request).Outcome;
}
