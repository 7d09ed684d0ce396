using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gateway.Observability.Metrics;

/// <summary>The per-request instruments: count, duration and sizes by route, client connections on the public listener.</summary>
internal sealed class RequestMetrics(Meter meter)
{
    /// <summary>The route label of requests no route took (404, 405, and answers before routing such as 414).</summary>
    public const string Unmatched = "unmatched";

    private readonly Counter<long> _requests = meter.CreateCounter<long>("gateway_requests_total", description: "Requests answered, by route, method and status.");
    private readonly Counter<long> _errors = meter.CreateCounter<long>("gateway_requests_errors_total",
        description: "Requests answered with a 5xx status, by route (the earlier gateway's error count).");
    private readonly Histogram<double> _duration = meter.CreateHistogram("gateway_request_duration_seconds", unit: "s",
        description: "Time from the request head to the end of the response, by route.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricBuckets.Seconds });
    private readonly Histogram<long> _requestSize = meter.CreateHistogram<long>("gateway_request_size_bytes", unit: "By",
        description: "Request body bytes, by route.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [.. MetricBuckets.Bytes.Select(static b => (long)b)] });
    private readonly Histogram<long> _responseSize = meter.CreateHistogram<long>("gateway_response_size_bytes", unit: "By",
        description: "Response body bytes, by route.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [.. MetricBuckets.Bytes.Select(static b => (long)b)] });
    private readonly UpDownCounter<long> _connections = meter.CreateUpDownCounter<long>("gateway_active_connections",
        description: "Client connections open on the public listener.");

    /// <summary>One finished request. Tag values must be strings made once (route ids, <see cref="StatusTags"/>).</summary>
    public void Request(string route, string method, int status, double seconds, long requestBytes, long responseBytes)
    {
        var tags = new TagList
        {
            { "route", route },
            { "method", method },
            { "status", StatusTags.Of(status) },
        };
        _requests.Add(1, in tags);
        var routeTag = new KeyValuePair<string, object?>("route", route);
        if (status >= 500)
        {
            _errors.Add(1, routeTag);
        }

        _duration.Record(seconds, routeTag);
        _requestSize.Record(requestBytes, routeTag);
        _responseSize.Record(responseBytes, routeTag);
    }

    public void ConnectionOpened() => _connections.Add(1);

    public void ConnectionClosed() => _connections.Add(-1);
}
