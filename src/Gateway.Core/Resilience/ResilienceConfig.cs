namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public CircuitBreakerConfig? CircuitBreaker { get; init; }
    public RetryConfig? Retry { get; init; }
}

internal sealed partial record RouteConfig
{
    public RetryConfig? Retry { get; init; }
    public CircuitBreakerConfig? CircuitBreaker { get; init; }
}

internal sealed record CircuitBreakerConfig
{
    public int FailureThreshold { get; init; } = 5;
    public int SuccessThreshold { get; init; } = 2;
    public double TimeoutSecs { get; init; } = 60;
    [ConfigAlias("half_open_max_requests")] public int HalfOpenRequests { get; init; } = 3;
    public double? RequestTimeoutSecs { get; init; }
}

internal sealed record RetryConfig
{
    public int MaxRetries { get; init; } = 3;
    public int InitialBackoffMs { get; init; } = 100;
    public int MaxBackoffMs { get; init; } = 5000;
    public double BackoffMultiplier { get; init; } = 2;

    /// <summary>Retries allowed as a share of requests (over the last 10 s), so retries cannot multiply an outage.</summary>
    public double BudgetRatio { get; init; } = 0.2;
}
