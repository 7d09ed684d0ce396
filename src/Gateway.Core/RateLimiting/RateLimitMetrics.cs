using System.Diagnostics.Metrics;

namespace Gateway.RateLimiting;

/// <summary>Requests refused by rate limits, and the Redis limiter going away and coming back.</summary>
internal sealed class RateLimitMetrics(Meter meter)
{
    private readonly Counter<long> _exceeded = meter.CreateCounter<long>("gateway_rate_limit_exceeded_total", description: "Requests answered 429, by route and dimension.");
    private readonly Counter<long> _transitions = meter.CreateCounter<long>("gateway_rate_limit_redis_transitions_total", description: "The Redis limiter becoming unreachable (to=down) or reachable (to=up).");

    public void Limited(string route, string dimension) =>
        _exceeded.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("dimension", dimension));

    public void Transition(string to) => _transitions.Add(1, new KeyValuePair<string, object?>("to", to));
}
