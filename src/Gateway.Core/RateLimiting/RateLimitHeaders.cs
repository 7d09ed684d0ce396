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

        headers["X-RateLimit-Limit"] = LimitText(outcome.Limit);
        headers["X-RateLimit-Remaining"] = outcome.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = Seconds(outcome.Reset).ToString(CultureInfo.InvariantCulture);
    }

    [ThreadStatic]
    private static (long Value, string Text)? t_limit;

    /// <summary>A route's limit is the same number on every response: its text is kept (per thread) instead of made again.</summary>
    private static string LimitText(long limit)
    {
        if (t_limit is { } last && last.Value == limit)
        {
            return last.Text;
        }

        var text = limit.ToString(CultureInfo.InvariantCulture);
        t_limit = (limit, text);
        return text;
    }

    /// <summary>Whole seconds, rounded up, at least 1 (for Retry-After and Reset).</summary>
    public static long Seconds(TimeSpan wait) => Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
}
