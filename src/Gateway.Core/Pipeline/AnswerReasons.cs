using System.Collections.Concurrent;

namespace Gateway.Pipeline;

/// <summary>
/// Why the gateway answered a request itself, as the access log's <c>reason</c> says it: short snake_case codes that
/// operators grep for and that stay the same across versions. Each answer carries its code from where it is decided
/// (<see cref="Answer.Reason"/>); a backend's own response has none. Codes with a part after a colon name what refused
/// (<c>auth:expired</c>, <c>rate_limited:global:ip:100/60s</c>); that part always comes from the gateway's code or
/// config, never from the request.
/// </summary>
internal static class AnswerReasons
{
    public const string RouteNotFound = "route_not_found";

    /// <summary>The public scrape path answered with the gateway's metrics.</summary>
    public const string Metrics = "metrics";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string BadPath = "bad_request:path";
    public const string BadHeaderValue = "bad_request:header_value";
    public const string BadFraming = "bad_request:framing";
    public const string BadBody = "bad_request:body";
    public const string Unsendable = "bad_request:unsendable";
    public const string BadTransformValue = "bad_request:transform_value";
    public const string BadRewrittenPath = "bad_request:path_rewrite";
    public const string PathRewriteTimeout = "bad_request:path_rewrite_timeout";
    public const string UriTooLong = "uri_too_long";
    public const string HeadersTooLarge = "headers_too_large";
    public const string BodyTooLarge = "body_too_large";
    public const string UnsupportedTransferCoding = "unsupported_transfer_coding";
    public const string ClientTimeout = "client_timeout";
    public const string ClientClosed = "client_closed";
    public const string Mock = "mock";
    public const string CacheHit = "cache_hit";
    public const string InternalError = "internal_error";
    public const string RateLimitUnavailable = "unavailable:rate_limit";
    public const string ForbiddenScope = "forbidden:scope";
    public const string ForbiddenRole = "forbidden:role";
    public const string ForbiddenClaim = "forbidden:claim";
    public const string ForbiddenIp = "forbidden:ip";
    public const string CorsPreflight = "cors_preflight";
    public const string CorsRefused = "cors_refused";
    public const string NoHealthyBackend = "no_healthy_backend";
    public const string CircuitOpen = "circuit_open";
    public const string UpstreamConnectRefused = "upstream_connect_refused";
    public const string UpstreamConnectTimeout = "upstream_connect_timeout";
    public const string UpstreamConnectFailed = "upstream_connect_failed";
    public const string UpstreamTimeout = "upstream_timeout";
    public const string UpstreamReset = "upstream_reset";
    public const string UpstreamBadResponse = "upstream_bad_response";
    public const string Upstream5xx = "upstream_5xx";

    // Authentication's reasons are its metric labels, a fixed set written in its code: the cache stays that small.
    private static readonly ConcurrentDictionary<string, string> AuthCodes = new(StringComparer.Ordinal);

    /// <summary><c>auth:</c> and authentication's own reason (<c>missing</c>, <c>expired</c>, <c>keys_unavailable</c>, ...), built once per reason.</summary>
    public static string Auth(string reason) => AuthCodes.GetOrAdd(reason, static r => "auth:" + r);
}
