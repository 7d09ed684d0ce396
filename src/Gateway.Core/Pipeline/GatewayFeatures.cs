using Gateway.Authentication;
using Gateway.Authorization;
using Gateway.Caching;
using Gateway.Compression;
using Gateway.Cors;
using Gateway.Forwarding;
using Gateway.Health;
using Gateway.Hosting;
using Gateway.IpFiltering;
using Gateway.Observability;
using Gateway.Observability.Metrics;
using Gateway.RateLimiting;
using Gateway.Resilience;
using Gateway.Routing;
using Gateway.Tls;
using Gateway.Transforms;

namespace Gateway.Pipeline;

/// <summary>
/// Every feature of the gateway, registered here once. The stages among them run in this order (SPEC section 3);
/// features that are not stages validate and compile their keys only. Adding a feature means a folder of its own
/// and one line in this list.
/// </summary>
internal static class GatewayFeatures
{
    public static readonly Feature[] All =
    [
        new ServerFeature(),          // server, admin and logging keys
        new RequestContextStage(),    // request id + trace + client address + access log
        new TracingStage(),           // sampling; the server span (client spans per attempt in the forward stage)
        new MetricsStage(),           // requests counted once each; the public scrape path; SLO events
        new LimitsStage(),            // URI, header and body limits; framing
        new RouteMatchStage(),        // normalization, route match, 400/404/405
        new IpFilterStage(),          // whitelist / blacklist on the client address, 403
        new CorsStage(),              // preflights answered, allow headers for allowed origins, Vary: Origin
        new AuthenticationStage(),    // JWT / API key, 401
        new AuthorizationStage(),     // scopes, roles, claims, 403
        new RateLimitStage(),         // global and route limits, 429
        new CompressionStage(),       // gzip / br / zstd; its response side runs last of all
        new CacheStage(),             // cache lookup (hits answered, misses coalesced); cache store on the way out
        new TransformStage(),         // request headers, path rewrites, query edits; response headers
        new HealthCheckFeature(),     // active and passive health
        new ResilienceFeature(),      // circuit breakers and retries
        new ObservabilityFeature(),   // the observability keys: metrics (the metrics stage), traces (the tracing stage)
        new HotReloadFeature(),       // hot_reload
        new TlsFeature(),             // tls (the listener itself is set up in Hosting)
        new ForwardStage(),           // mock answer, or balance + breaker + retry + timeout + forward
    ];

    /// <summary>The stages, in the order every request runs them.</summary>
    public static readonly Stage[] Stages = [.. All.OfType<Stage>()];

    /// <summary>The index of a stage in <see cref="Stages"/>.</summary>
    public static int IndexOf<TStage>()
        where TStage : Stage
    {
        for (var i = 0; i < Stages.Length; i++)
        {
            if (Stages[i] is TStage)
            {
                return i;
            }
        }

        return -1;
    }
}
