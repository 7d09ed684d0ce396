namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public CacheConfig? Cache { get; init; }
}

internal sealed partial record RouteConfig
{
    public CacheConfig? Cache { get; init; }
}

internal sealed record CacheConfig
{
    public bool Enabled { get; init; }
    public int MaxCapacity { get; init; } = 1000;
    public double TtlSecs { get; init; } = 300;
    public List<string> CacheableMethods { get; init; } = ["GET", "HEAD"];
    public List<int> CacheableStatusCodes { get; init; } = [200];
    public List<string> KeyHeaders { get; init; } = [];
    public bool CacheWithCookies { get; init; }
    public bool Shared { get; init; }
    public RedisConfig? Redis { get; init; }
}
