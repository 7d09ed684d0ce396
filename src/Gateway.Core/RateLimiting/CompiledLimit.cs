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
    /// <param name="id">The process-wide number of this limit (its local counters are filed under it).</param>
    /// <param name="scope">Where the limit was configured and what it is: stable across reloads and replicas.</param>
    public CompiledLimit(int id, string scope, RateLimitRule rule)
    {
        Id = id;
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
        Reason = "rate_limited:" + scope;
    }

    /// <summary>Keys the local counters: the same for as long as a limit stays the same across reloads.</summary>
    public int Id { get; }

    /// <summary><c>global:RULE</c> or <c>route:ID:RULE</c>: where the limit was configured and what it is (part of the Redis key).</summary>
    public string Scope { get; }

    /// <summary>What a rule counts, in a form that changes when the rule does (a changed rule starts counting afresh).</summary>
    public static string Fingerprint(RateLimitRule rule) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{rule.Dimension}:{rule.Requests}/{rule.WindowSecs}s{(rule.Burst is long burst ? "+" + burst : "")}");

    public LimitDimension Dimension { get; }

    public string? HeaderName { get; }

    /// <summary>The metric label: ip, user, api_key, route or header.</summary>
    public string DimensionLabel { get; }

    public long Requests { get; }

    /// <summary>Token-bucket capacity (<c>burst</c>, else <c>requests</c>).</summary>
    public long Burst { get; }

    public TimeSpan Window { get; }

    public string Description { get; }

    /// <summary>The access log's code for a request this limit refused: <c>rate_limited:</c> and <see cref="Scope"/>.</summary>
    public string Reason { get; }
}

/// <summary>One limit's answer for one request.</summary>
internal readonly record struct LimitDecision(bool Allowed, long Limit, long Remaining, TimeSpan Reset);
