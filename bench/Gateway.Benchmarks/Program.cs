using BenchmarkDotNet.Running;
using Gateway.Benchmarks;

if (args is ["redis-latency", var url])
{
    return await RedisRateLimitLatency.RunAsync(url);
}

BenchmarkSwitcher.FromAssembly(typeof(RouteMatchingBenchmarks).Assembly).Run(args);
return 0;
