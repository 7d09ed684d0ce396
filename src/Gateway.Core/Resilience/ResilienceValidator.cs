using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Resilience;

/// <summary>Circuit breakers and retries, globally and per route.</summary>
internal static class ResilienceValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        CircuitBreaker(d, "circuit_breaker", config.CircuitBreaker);
        Retry(d, "retry", config.Retry);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            CircuitBreaker(d, $"routes[{i}].circuit_breaker", config.Routes[i].CircuitBreaker);
            Retry(d, $"routes[{i}].retry", config.Routes[i].Retry);
        }
    }

    private static void CircuitBreaker(ConfigDiagnostics d, string path, CircuitBreakerConfig? cb)
    {
        if (cb is null)
        {
            return;
        }

        ValidationRules.InRange(d, path + ".failure_threshold", cb.FailureThreshold, 1, 10_000);
        ValidationRules.InRange(d, path + ".success_threshold", cb.SuccessThreshold, 1, 10_000);
        ValidationRules.InRange(d, path + ".half_open_requests", cb.HalfOpenRequests, 1, 10_000);
        ValidationRules.Timeout(d, path + ".timeout_secs", cb.TimeoutSecs);
        ValidationRules.Timeout(d, path + ".request_timeout_secs", cb.RequestTimeoutSecs);
    }

    private static void Retry(ConfigDiagnostics d, string path, RetryConfig? retry)
    {
        if (retry is null)
        {
            return;
        }

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
