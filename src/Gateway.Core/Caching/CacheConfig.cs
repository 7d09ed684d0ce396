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

    /// <summary>Most responses kept (in memory; a Redis cache is bounded by the server's own memory policy).</summary>
    public int MaxCapacity { get; init; } = 1000;

    /// <summary>Most bytes kept in memory, bodies and headers together.</summary>
    public long MaxBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Largest response body kept; a larger one passes through uncached.</summary>
    public long MaxEntryBytes { get; init; } = 1024 * 1024;

    /// <summary>How long a response is fresh when it says nothing itself (no max-age, s-maxage or Expires).</summary>
    public double TtlSecs { get; init; } = 300;

    public List<string> CacheableMethods { get; init; } = ["GET", "HEAD"];
    public List<int> CacheableStatusCodes { get; init; } = [200];
    public List<string> KeyHeaders { get; init; } = [];
    public bool CacheWithCookies { get; init; }

    /// <summary>Responses are the same for every caller: the caller's identity and credentials are not part of the key.</summary>
    public bool Shared { get; init; }

    public RedisConfig? Redis { get; init; }
}
