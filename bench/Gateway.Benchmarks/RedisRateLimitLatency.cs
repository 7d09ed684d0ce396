using System.Diagnostics;
using Gateway.Configuration;
using Gateway.RateLimiting;
using Gateway.Redis;

namespace Gateway.Benchmarks;

/// <summary>
/// The Redis limiter's added latency per request, against a real redis-server: <c>dotnet run -c Release --
/// redis-latency redis://127.0.0.1:6379</c>. Prints percentiles of one decision (one Lua script round trip).
/// </summary>
internal static class RedisRateLimitLatency
{
    public static async Task<int> RunAsync(string url)
    {
        foreach (var algorithm in new[] { "sliding_window", "fixed_window", "token_bucket" })
        {
            await using var connection = new RedisConnection(url, TimeSpan.FromSeconds(2));
            var store = new RedisRateLimitStore(connection, "bench:", RateLimiter.Parse(algorithm), TimeProvider.System);
            var limit = new CompiledLimit(0, "route:bench:0", new RateLimitRule { Dimension = "ip", Requests = 1_000_000, WindowSecs = 60 });
            await store.StartAsync(TimeSpan.FromSeconds(10), _ => { });
            for (var i = 0; i < 500; i++)
            {
                await store.AcquireAsync(limit, "warm");
            }

            var samples = new double[5000];
            for (var i = 0; i < samples.Length; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await store.AcquireAsync(limit, "client-" + (i % 100));
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }

            Array.Sort(samples);
            Console.WriteLine($"{algorithm,-15} p50 {samples[samples.Length / 2],7:0.0} µs   p99 {samples[samples.Length * 99 / 100],7:0.0} µs   max {samples[^1],8:0.0} µs");
        }

        return 0;
    }
}
