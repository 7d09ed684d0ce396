using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.State;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// What tracing adds to a request: the whole stage list (a mock route, no access line) with tracing off, with
/// <c>sample_rate: 0</c> (no request sampled), <c>0.1</c> and with every request sampled, for requests that start a trace (no traceparent: the rate
/// decides). A sampled request's server span is exported in batches to a loopback port nothing listens on, as an
/// unreachable collector would take them; the client spans of forwarded requests come on top (one per attempt).
/// </summary>
[MemoryDiagnoser]
public class TracingBenchmarks
{
    private const string Route = """
        logging: {access_log: false}
        routes:
          - {path: "/api/users/:id", methods: [GET], mock: {status: 200, body: "{}"}}
        """;

    private LiveState _state = null!;
    private RuntimeConfig _off = null!;
    private RuntimeConfig _none = null!;
    private RuntimeConfig _tenth = null!;
    private RuntimeConfig _all = null!;
    private IHeaderDictionary _headers = null!;
    private StageRunner _runner = null!;

    [GlobalSetup]
    public void Setup()
    {
        _state = new LiveState(TimeProvider.System, null);
        _off = Compile("");
        _none = Compile(Tracing(0));
        _tenth = Compile(Tracing(0.1));
        _all = Compile(Tracing(1));
        _state.Commit(_all);
        _headers = new HeaderDictionary
        {
            ["Host"] = "api.example.com",
            ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            ["Accept"] = "application/json",
        };
        _runner = new StageRunner(NullLogger.Instance);
    }

    [GlobalCleanup]
    public void Cleanup() => _state.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static string Tracing(double rate) =>
        $"observability:\n  tracing: {{enabled: true, otlp_endpoint: \"http://127.0.0.1:9\", protocol: http/protobuf, sample_rate: {rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}\n";

    private RuntimeConfig Compile(string tracing)
    {
        var loaded = ConfigLoader.LoadText(tracing + Route, "b.yaml", ".", _ => null);
        return ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch, _state);
    }

    private Exchange NewExchange(RuntimeConfig config) => new(new PipelineBenchmarks.NullChannel(), config, TimeProvider.System, HttpMethods.Get, "/api/users/42", _headers)
    {
        Peer = IPAddress.Loopback,
    };

    [Benchmark(Baseline = true)]
    public ValueTask TracingOff() => _runner.RunAsync(NewExchange(_off));

    /// <summary>What a request that is not sampled pays: reading its headers for a parent, and the sampler.</summary>
    [Benchmark]
    public ValueTask SampleRateZero() => _runner.RunAsync(NewExchange(_none));

    [Benchmark]
    public ValueTask SampleRateTenth() => _runner.RunAsync(NewExchange(_tenth));

    [Benchmark]
    public ValueTask EveryRequestSampled() => _runner.RunAsync(NewExchange(_all));
}
