using System.Diagnostics.Metrics;

namespace Gateway.Caching;

/// <summary>Cache lookups by route and result (<c>hit</c>, <c>miss</c>, <c>bypass</c>), exported by the observability work.</summary>
internal static class CacheMetrics
{
    public static readonly Meter Meter = new("Gateway.Cache");

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("gateway_cache_requests_total", description: "Requests on cached routes, by route and cache result.");

    public static void Request(string route, string result)
    {
        if (Requests.Enabled)
        {
            Requests.Add(1, new("route", route), new("result", result));
        }
    }
}
