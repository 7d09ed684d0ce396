namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public RateLimitingConfig? RateLimiting { get; init; }
}

internal sealed partial record RouteConfig
{
    public List<RateLimitRule>? RateLimit { get; init; }
}

internal sealed record RateLimitingConfig
{
    public bool Enabled { get; init; } = true;

    /// <summary>The algorithm of the Redis limiter (the earlier gateway's key).</summary>
    [KnownValues("sliding_window", "fixed_window", "token_bucket")] public string Algorithm { get; init; } = "sliding_window";

    /// <summary>The algorithm without Redis (and of the fallback while Redis is away).</summary>
    [KnownValues("sliding_window", "fixed_window", "token_bucket")] public string LocalAlgorithm { get; init; } = "token_bucket";

    public List<RateLimitRule> Global { get; init; } = [];
    public RedisConfig? Redis { get; init; }
    [KnownValues("open", "closed")] public string FailureMode { get; init; } = "open";

    /// <summary>Most client keys tracked in memory per limit; beyond it idle ones are dropped first.</summary>
    public int MaxKeys { get; init; } = 100_000;
}

internal sealed record RateLimitRule
{
    public string Dimension { get; init; } = "";
    public long Requests { get; init; }
    public double WindowSecs { get; init; }
    public long? Burst { get; init; }
}
