using Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Resilience;

/// <summary>
/// A route's retries: up to <c>max_retries</c> more attempts, waiting <c>initial_backoff_ms</c> times
/// <c>backoff_multiplier</c> per attempt (capped at <c>max_backoff_ms</c>, with jitter), within a retry budget.
/// A request is retried only when that cannot repeat work: nothing reached the backend (connect failure), or the
/// method is idempotent and the request has no body.
/// </summary>
internal sealed class RetryPolicy(RetryConfig config, RetryBudget budget)
{
    public int MaxRetries { get; } = config.MaxRetries;

    /// <summary>The route's budget: live state, so a reload that leaves the route's retries alone keeps what it counted.</summary>
    public RetryBudget Budget { get; } = budget;

    public TimeSpan Backoff(int retry)
    {
        var delay = Math.Min(config.MaxBackoffMs, config.InitialBackoffMs * Math.Pow(config.BackoffMultiplier, retry - 1));

        // Half fixed, half random: retries from many clients do not arrive in step.
        return TimeSpan.FromMilliseconds((delay / 2) + (Random.Shared.NextDouble() * delay / 2));
    }

    /// <summary>Whether the request could be sent again without doing anything twice.</summary>
    public static bool IsReplayable(Pipeline.Exchange exchange) =>
        (HttpMethods.IsGet(exchange.Method) || HttpMethods.IsHead(exchange.Method) || HttpMethods.IsOptions(exchange.Method)
            || HttpMethods.IsPut(exchange.Method) || HttpMethods.IsDelete(exchange.Method) || HttpMethods.IsTrace(exchange.Method))
        && exchange.RequestContentLength is null or 0
        && !exchange.RequestBodyUnframed;
}
