using System.Diagnostics.Metrics;

namespace Gateway.Caching;

/// <summary>Cache lookups by route and result (<c>hit</c>, <c>miss</c>, <c>bypass</c>).</summary>
internal sealed class CacheMetrics(Meter meter)
{
    private readonly Counter<long> _requests = meter.CreateCounter<long>("gateway_cache_requests_total", description: "Requests on cached routes, by route and cache result.");

    public void Request(string route, string result)
    {
        if (_requests.Enabled)
        {
            _requests.Add(1, new("route", route), new("result", result));
        }
    }
}
