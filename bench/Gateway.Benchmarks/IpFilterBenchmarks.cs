using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration.Validation;
using Gateway.IpFiltering;

namespace Gateway.Benchmarks;

/// <summary>IP filter lookups against 10,000 merged blocks: IPv4, IPv6, and IPv4 through the IPv6 set.</summary>
[MemoryDiagnoser]
public class IpFilterBenchmarks
{
    private IpRangeSet _set = null!;
    private readonly IPAddress _v4 = IPAddress.Parse("10.77.1.9");
    private readonly IPAddress _v6 = IPAddress.Parse("2001:db8:1234::9");
    private readonly IPAddress _mapped = IPAddress.Parse("::ffff:10.77.1.9");

    [GlobalSetup]
    public void Setup()
    {
        var texts = Enumerable.Range(0, 5000).Select(i => $"10.{i / 256}.{i % 256}.0/25")
            .Concat(Enumerable.Range(0, 5000).Select(i => $"2001:db8:{i:x}::/48"));
        _set = IpRangeSet.Build(texts.Select(t => ValidationRules.TryParseNetwork(t, out var n, out _) ? n : throw new InvalidOperationException(t)));
    }

    [Benchmark]
    public bool V4() => _set.Contains(_v4);

    [Benchmark]
    public bool V6() => _set.Contains(_v6);

    [Benchmark]
    public bool Mapped() => _set.Contains(_mapped);
}
