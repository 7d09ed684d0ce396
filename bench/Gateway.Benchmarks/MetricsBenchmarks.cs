using BenchmarkDotNet.Attributes;
using Gateway.Observability.Metrics;
using Gateway.State;

namespace Gateway.Benchmarks;

/// <summary>
/// What the metrics cost per request with the exporter listening (as in a running gateway): the request's counter
/// and its duration and size histograms, one upstream attempt's counter and histogram, an SLO event; and one scrape.
/// The recordings must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private LiveState _state = null!;
    private GatewayMetrics _metrics = null!;
    private SloTracker _slo = null!;

    [GlobalSetup]
    public void Setup()
    {
        _state = new LiveState(TimeProvider.System, null);
        _metrics = _state.Metrics;
        _slo = new SloTracker(new SloKey("api", 250, 0.999), TimeProvider.System);
        // The series exist after the first request; every later one only finds and updates them.
        Request();
        Attempt();
        Slo();
    }

    [GlobalCleanup]
    public void Cleanup() => _state.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public void Request() => _metrics.Requests.Request("api", "GET", 200, 0.0042, 128, 2048);

    [Benchmark]
    public void Attempt() => _metrics.Backends.Attempt("api", "http://10.0.0.7:8080", 200, 0.0031);

    [Benchmark]
    public void Slo() => _metrics.Slo.Record(_slo, _slo.IsGood(200, 0.0042), new KeyValuePair<string, object?>("route", "api"));

    [Benchmark]
    public int Scrape() => _state.Exporter!.Scrape().Length;
}
