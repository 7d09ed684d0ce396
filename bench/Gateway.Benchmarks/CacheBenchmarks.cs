using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Caching;
using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Benchmarks;

/// <summary>
/// The response cache's own work per request: the key (sorted query, key headers, caller) and a hit in the memory
/// store, as the cache stage does them before answering.
/// </summary>
[MemoryDiagnoser]
public class CacheBenchmarks
{
    private Exchange _exchange = null!;
    private CachePolicy _policy = null!;

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.LoadText("""
            routes:
              - {path: "/api/products/*rest", backend: "http://127.0.0.1:9", cache: {enabled: true, key_headers: [Accept-Language]}}
            """, "b.yaml", ".", _ => null);
        var config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _policy = (CachePolicy)config.Routes[0].Policies[GatewayFeatures.IndexOf<CacheStage>()]!;
        var headers = new HeaderDictionary
        {
            ["Host"] = "api.example.com",
            ["Accept-Language"] = "en-GB",
            ["Accept"] = "application/json",
        };
        _exchange = new Exchange(new PipelineBenchmarks.NullChannel(), config, TimeProvider.System, HttpMethods.Get, "/api/products/42?page=2&sort=price", headers)
        {
            Peer = IPAddress.Loopback,
        };
        _exchange.Path = "/api/products/42";
        _exchange.Query = "?page=2&sort=price";
        var key = CacheKeys.Build(_exchange, _policy);
        _policy.Store.SetAsync(key, new CachedResponse
        {
            Status = 200,
            Headers = [new("Content-Type", ["application/json"]), new("Cache-Control", ["max-age=60"])],
            Body = new byte[100],
            StoredAt = 0,
            ExpiresAt = long.MaxValue,
            Vary = [],
        }, 0).AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public string Key() => CacheKeys.Build(_exchange, _policy);

    [Benchmark]
    public int KeyAndHit() => _policy.Store.GetAsync(CacheKeys.Build(_exchange, _policy), 1, default).Result!.Status;
}
