using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Resilience;

/// <summary>Circuit breakers and retries, globally and per route.</summary>
internal static class ResilienceValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        ValidationRules.GlobalAndPerRoute(d, config, "circuit_breaker", config.CircuitBreaker, route => route.CircuitBreaker, CircuitBreaker);
        ValidationRules.GlobalAndPerRoute(d, config, "retry", config.Retry, route => route.Retry, Retry);
    }

    private static void CircuitBreaker(ConfigDiagnostics d, string path, CircuitBreakerConfig cb)
    {
        ValidationRules.InRange(d, path + ".failure_threshold", cb.FailureThreshold, 1, 10_000);
        ValidationRules.InRange(d, path + ".success_threshold", cb.SuccessThreshold, 1, 10_000);
        ValidationRules.InRange(d, path + ".half_open_requests", cb.HalfOpenRequests, 1, 10_000);
        ValidationRules.Timeout(d, path + ".timeout_secs", cb.TimeoutSecs);
        ValidationRules.Timeout(d, path + ".request_timeout_secs", cb.RequestTimeoutSecs);
    }

    private static void Retry(ConfigDiagnostics d, string path, RetryConfig retry)
    {
        ValidationRules.InRange(d, path + ".max_retries", retry.MaxRetries, 0, 10);
        ValidationRules.NotNegative(d, path + ".initial_backoff_ms", retry.InitialBackoffMs);
        if (retry.MaxBackoffMs < retry.InitialBackoffMs)
        {
            d.Error(path + ".max_backoff_ms", $"must be at least initial_backoff_ms ({retry.InitialBackoffMs})");
        }

        if (retry.BackoffMultiplier is < 1 or > 100)
        {
            d.Error(path + ".backoff_multiplier", $"must be between 1 and 100 (got {retry.BackoffMultiplier})");
        }

        ValidationRules.InRange(d, path + ".budget_ratio", retry.BudgetRatio, 0, 10);
        ValidationRules.InRange(d, path + ".max_backoff_ms", retry.MaxBackoffMs, 0, 600_000);
    }
}
