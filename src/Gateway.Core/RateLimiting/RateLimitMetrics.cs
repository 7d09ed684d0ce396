using System.Diagnostics.Metrics;

namespace Gateway.RateLimiting;

/// <summary>Requests refused by rate limits, and the Redis limiter going away and coming back.</summary>
internal static class RateLimitMetrics
{
    public static readonly Meter Meter = new("Gateway.RateLimiting");

    private static readonly Counter<long> Exceeded = Meter.CreateCounter<long>("gateway_rate_limit_exceeded_total", description: "Requests answered 429, by route and dimension.");
    private static readonly Counter<long> Transitions = Meter.CreateCounter<long>("gateway_rate_limit_redis_transitions_total", description: "The Redis limiter becoming unreachable (to=down) or reachable (to=up).");

    public static void Limited(string route, string dimension) =>
        Exceeded.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("dimension", dimension));

    public static void Transition(string to) => Transitions.Add(1, new KeyValuePair<string, object?>("to", to));
}
