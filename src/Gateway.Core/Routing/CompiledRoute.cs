using Gateway.Configuration;
using Gateway.Forwarding;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Routing;

/// <summary>A route ready to serve: its matcher data and every pre-compiled policy. Immutable.</summary>
internal sealed class CompiledRoute
{
    public required string Id { get; init; }

    /// <summary>Position in the file (0-based), the last tie-breaker of precedence.</summary>
    public required int Index { get; init; }

    public required RoutePattern Pattern { get; init; }

    public required RouteConditions Conditions { get; init; }

    /// <summary>Precedence: lower wins. Computed once for the whole table.</summary>
    public int Rank { get; set; }

    public int Priority { get; init; }

    public string? Description { get; init; }

    public bool StripPrefix { get; init; }

    public bool PreserveHost { get; init; }

    public bool AllowEncodedSlashes { get; init; }

    public TimeSpan Timeout { get; init; }

    /// <summary>The forwarder's settings for this route (timeouts), built once.</summary>
    public required ForwarderRequestConfig RequestConfig { get; init; }

    /// <summary>
    /// Every backend is plain HTTP and the route does not ask for HTTP/2 with prior knowledge: requests the HTTP/1.1
    /// forwarder can frame go through it.
    /// </summary>
    public bool Http1Backends { get; init; }

    public MockResponse? Mock { get; init; }

    public LoadBalancing.BackendGroup? Backends { get; init; }

    /// <summary>Retries (route's own or the global ones), or null when requests are not retried.</summary>
    public Resilience.RetryPolicy? Retry { get; init; }

    /// <summary>Authentication and authorization, or null for a public route.</summary>
    public Authentication.AuthPolicy? Auth { get; init; }

    /// <summary>The global limits (when enabled) followed by the route's own; empty when none apply.</summary>
    public RateLimiting.CompiledLimit[] RateLimits { get; set; } = [];

    /// <summary>When set, the route answers 503 with this reason instead of serving (a policy it needs is missing).</summary>
    public string? Unavailable { get; init; }

    public required RouteConfig Source { get; init; }

    /// <summary>The path the backend receives for a matched, normalized path (before any rewrite).</summary>
    public string UpstreamPath(string normalizedPath) => StripPrefix ? Pattern.StripPrefix(normalizedPath) : normalizedPath;
}
