using Gateway.LoadBalancing;
using Gateway.Resilience;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding;

/// <summary>A route's way upstream, compiled once: its backends, retries, deadline, upstream shape and sender.</summary>
internal sealed class UpstreamRoute
{
    public required string RouteId { get; init; }

    /// <summary>Where attempts, errors and retries are counted.</summary>
    public required Resilience.ResilienceMetrics Metrics { get; init; }

    public required BackendGroup Backends { get; init; }

    /// <summary>Retries (the route's own or the global ones), or null when requests are not retried.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>The route's timeout: how long the backend may stay silent, and the bound on all attempts together.</summary>
    public required TimeSpan Timeout { get; init; }

    public required UpstreamShape Shape { get; init; }

    /// <summary>The sender chosen for the route's backends.</summary>
    public required UpstreamSender Sender { get; init; }

    /// <summary>The sender for requests <see cref="Sender"/> cannot frame (YARP), or null when it takes everything.</summary>
    public UpstreamSender? Fallback { get; init; }

    /// <summary>HttpClient without YARP: for exchanges whose codec has no Kestrel request to give YARP.</summary>
    public required UpstreamSender Direct { get; init; }

    /// <summary>HTTP version and policy towards the backends (also what health checks probe with).</summary>
    public required Version Version { get; init; }

    public required HttpVersionPolicy VersionPolicy { get; init; }

    /// <summary>The settings the YARP sender forwards with.</summary>
    public required ForwarderRequestConfig RequestConfig { get; init; }

    public UpstreamSender SenderFor(Pipeline.Exchange exchange) =>
        Sender.CanSend(exchange) ? Sender : Fallback?.CanSend(exchange) == true ? Fallback : Direct;
}
