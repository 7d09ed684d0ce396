using System.Net;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Routing;

namespace Gateway.Pipeline;

/// <summary>Everything the pipeline learns about one request; one object on <c>HttpContext.Features</c>.</summary>
internal sealed class GatewayRequestFeature(RuntimeConfig config, string requestId, TraceContext trace, IPAddress? clientIp, long startTimestamp)
{
    /// <summary>The snapshot this request runs on from start to end, whatever reloads happen meanwhile.</summary>
    public RuntimeConfig Config { get; } = config;

    public string RequestId { get; } = requestId;

    public TraceContext Trace { get; } = trace;

    /// <summary>The client's address under the trusted-proxy rules.</summary>
    public IPAddress? ClientIp { get; } = clientIp;

    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>The normalized path (what routes match and what the backend receives).</summary>
    public string Path { get; set; } = "/";

    /// <summary>The raw query string including '?', or empty.</summary>
    public string Query { get; set; } = "";

    public CompiledRoute? Route { get; set; }

    public Backend? Backend { get; set; }

    /// <summary>This attempt may be retried on a 5xx answer, so the transformer holds such an answer back.</summary>
    public bool RetryableStatus { get; set; }

    /// <summary>The 5xx status the transformer held back instead of passing it on (to retry).</summary>
    public int? HeldBackStatus { get; set; }

    /// <summary>Time spent waiting on the backend, in Stopwatch ticks (0 when none was called).</summary>
    public long UpstreamTicks { get; set; }

    /// <summary>Counts a request body that has no Content-Length (chunked), when one is forwarded.</summary>
    public CountingStream? RequestCounter { get; set; }

    /// <summary>Counts a response body that has no Content-Length (YARP path).</summary>
    public CountingStream? ResponseCounter { get; set; }

    /// <summary>The size of a response body that had no Content-Length, counted by the HTTP/1.1 forwarder.</summary>
    public long? ResponseBytes { get; set; }

    /// <summary>Who sent the request, once authentication has run (null when anonymous).</summary>
    public Authentication.Identity? Identity { get; set; }

    /// <summary>What the rate limits decided (its headers go on every response of a limited route).</summary>
    public RateLimiting.RateLimitOutcome RateLimit { get; set; }

    /// <summary>The request has a header whose name contains '_' (checked by the limits stage while it counts headers).</summary>
    public bool HasUnderscoreHeaders { get; set; }

    /// <summary>The authenticated user, for the access log (null when anonymous).</summary>
    public string? User { get; set; }
}
