using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Gateway.RateLimiting;

/// <summary><c>X-RateLimit-Limit</c>, <c>-Remaining</c> and <c>-Reset</c> (seconds) on every response of a limited route.</summary>
internal static class RateLimitHeaders
{
    public static void Apply(IHeaderDictionary headers, in RateLimitOutcome outcome)
    {
        if (!outcome.HasHeaders)
        {
            return;
        }

        headers["X-RateLimit-Limit"] = outcome.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = outcome.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = Seconds(outcome.Reset).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Whole seconds, rounded up, at least 1 (for Retry-After and Reset).</summary>
    public static long Seconds(TimeSpan wait) => Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
}
