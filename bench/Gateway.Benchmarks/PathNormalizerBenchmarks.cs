using BenchmarkDotNet.Attributes;
using Gateway.Routing;

namespace Gateway.Benchmarks;

/// <summary>Normalizing request targets: the common clean path, and one that needs the full algorithm.</summary>
[MemoryDiagnoser]
public class PathNormalizerBenchmarks
{
    [Benchmark(Baseline = true)]
    public string CleanPath() => PathNormalizer.NormalizeTarget("/api/users/12345/orders").Path;

    [Benchmark]
    public string CleanPathWithQuery() => PathNormalizer.NormalizeTarget("/api/users/12345/orders?page=2&size=50").Path;

    [Benchmark]
    public string DotSegmentsAndEncoding() => PathNormalizer.NormalizeTarget("/api/./users/%61%62/../12345//orders").Path;
}
