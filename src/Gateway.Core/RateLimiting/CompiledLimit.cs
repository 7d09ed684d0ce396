using Gateway.Configuration;

namespace Gateway.RateLimiting;

internal enum LimitDimension
{
    Ip,
    User,
    ApiKey,
    Route,
    Header,
}

internal enum LimitAlgorithm
{
    TokenBucket,
    SlidingWindow,
    FixedWindow,
}

/// <summary>One rate limit, compiled: what it counts, how many, over what window. Immutable.</summary>
internal sealed class CompiledLimit
{
    public CompiledLimit(int index, string scope, RateLimitRule rule)
    {
        Index = index;
        Scope = scope;
        Requests = rule.Requests;
        Burst = rule.Burst ?? rule.Requests;
        Window = TimeSpan.FromSeconds(rule.WindowSecs);
        (Dimension, HeaderName) = rule.Dimension switch
        {
            "ip" => (LimitDimension.Ip, null),
            "user" => (LimitDimension.User, null),
            "api_key" or "apikey" => (LimitDimension.ApiKey, null),
            "route" => (LimitDimension.Route, null),
            _ => (LimitDimension.Header, rule.Dimension[7..]),
        };
        DimensionLabel = Dimension == LimitDimension.Header ? "header" : rule.Dimension == "apikey" ? "api_key" : rule.Dimension;
        Description = $"{rule.Dimension}:{rule.Requests}/{rule.WindowSecs}s" + (rule.Burst is long b && b != rule.Requests ? $" burst {b}" : "");
    }

    /// <summary>Position among all limits of the snapshot (keys the local state).</summary>
    public int Index { get; }

    /// <summary><c>global:N</c> or <c>route:ID:N</c>: where the limit was configured (part of the Redis key).</summary>
    public string Scope { get; }

    public LimitDimension Dimension { get; }

    public string? HeaderName { get; }

    /// <summary>The metric label: ip, user, api_key, route or header.</summary>
    public string DimensionLabel { get; }

    public long Requests { get; }

    /// <summary>Token-bucket capacity (<c>burst</c>, else <c>requests</c>).</summary>
    public long Burst { get; }

    public TimeSpan Window { get; }

    public string Description { get; }
}

/// <summary>One limit's answer for one request.</summary>
internal readonly record struct LimitDecision(bool Allowed, long Limit, long Remaining, TimeSpan Reset);
