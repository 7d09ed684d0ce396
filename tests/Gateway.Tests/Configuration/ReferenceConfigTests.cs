using Gateway.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>Every config of the earlier gateway loads, with its meaning kept.</summary>
public sealed class ReferenceConfigTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(Paths.ReferenceConfigs))
        {
            // One case that skips (or fails in CI) with the reason, instead of a theory without data.
            data.Add("(absent)");
            return data;
        }

        foreach (var file in Directory.GetFiles(Paths.ReferenceConfigs, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Files))]
    public void Loads_without_errors(string file)
    {
        Paths.RequireReferenceConfigs();
        var result = ConfigLoader.LoadFile(Path.Combine(Paths.ReferenceConfigs, file));
        Assert.False(result.HasErrors, string.Join('\n', result.Problems));
        var runtime = ConfigCompiler.Compile(result.Config!, 1, DateTimeOffset.UnixEpoch);
        Assert.Equal(result.Config!.Routes.Count, runtime.Routes.Length);
    }

    [SkippableFact]
    public void There_are_reference_configs()
    {
        Paths.RequireReferenceConfigs();
        Assert.True(Files().Count >= 20, $"expected the reference configs at {Paths.ReferenceConfigs}");
    }

    [SkippableFact]
    public void Default_gateway_keeps_its_meaning()
    {
        Paths.RequireReferenceConfigs();
        var config = ConfigLoader.LoadFile(Path.Combine(Paths.ReferenceConfigs, "default-gateway.yaml")).Config!;
        Assert.Equal(8080, config.Server.Port);
        var products = config.Routes.Single(r => r.Path == "/v1/products/*path");
        Assert.True(products.StripPrefix);
        Assert.Equal(["GET"], products.Methods);
        Assert.Empty(config.Routes.Single(r => r.Path == "/health").Methods!);
    }

    [SkippableFact]
    public void Load_balancer_full_featured_keeps_breaker_and_weights()
    {
        Paths.RequireReferenceConfigs();
        var config = ConfigLoader.LoadFile(Path.Combine(Paths.ReferenceConfigs, "load-balancer-full-featured.yaml")).Config!;
        Assert.Equal(3, config.CircuitBreaker!.HalfOpenRequests);
        Assert.Equal(60, config.CircuitBreaker.TimeoutSecs);
        var api = config.Routes.Single(r => r.Path == "/api/*path");
        Assert.Equal([3, 2, 1], api.Backends!.Select(b => b.Weight));
        Assert.Equal("weighted", api.LoadBalancer!.Strategy);
        Assert.True(api.HealthCheck!.PassiveEnabled);
    }
}
