using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.RateLimiting;

namespace Gateway.Benchmarks;

/// <summary>A local rate-limit decision for a client already tracked, per algorithm.</summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private readonly IPAddress _client = IPAddress.Parse("203.0.113.7");
    private LocalRateLimitStore _store = null!;
    private CompiledLimit _limit = null!;

    [Params("token_bucket", "sliding_window", "fixed_window")]
    public string Algorithm { get; set; } = "token_bucket";

    [GlobalSetup]
    public void Setup()
    {
        _store = new LocalRateLimitStore(RateLimiter.Parse(Algorithm), 100_000, TimeProvider.System);
        _limit = new CompiledLimit(0, "route:bench:0", new RateLimitRule { Dimension = "ip", Requests = 1_000_000_000, WindowSecs = 1 });
        for (var i = 0; i < 10_000; i++)
        {
            _store.Acquire(_limit, new IPAddress(BitConverter.GetBytes(i + 1)));
        }

        _store.Acquire(_limit, _client);
    }

    [Benchmark]
    public bool ExistingClient() => _store.Acquire(_limit, _client).Allowed;
}
