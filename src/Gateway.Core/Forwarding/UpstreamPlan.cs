using System.Net;
using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;

namespace Gateway.Forwarding;

/// <summary>The request a backend would receive, described offline (for explain and route tests).</summary>
internal sealed record UpstreamPlan(string Method, string Url, Backend Backend, IReadOnlyList<KeyValuePair<string, string>> Headers, IReadOnlyList<string> Removed);

/// <summary>
/// Describes the upstream request with the same rules the forwarder applies (see <see cref="GatewayTransformer"/>):
/// hop-by-hop and Connection-nominated headers removed, Host replaced unless preserved, forwarding
/// headers, request id and trace context set by the gateway.
/// </summary>
internal static class UpstreamPlanner
{
    public static UpstreamPlan Plan(HttpRequest request, CompiledRoute route, NormalizedTarget target, RuntimeConfig config, IPAddress peer, string requestId,
        TraceContext trace, Authentication.Identity? identity)
    {
        // The backend the balancer would pick for this request (exact for the hash strategies).
        var backend = route.Backends!.Select(request.HttpContext, peer, null) ?? route.Backends.Backends[0];
        var removed = new List<string>();
        var nominated = new HashSet<string>(HopByHop.Nominated(HopByHop.AsServerSees(request.Headers.Connection)), StringComparer.OrdinalIgnoreCase);
        var trusted = config.TrustedProxies.Length > 0 && config.IsTrustedProxy(peer);
        var gatewayOwned = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            ForwardedHeaders.For, ForwardedHeaders.Proto, ForwardedHeaders.Host, RequestIds.HeaderName, "traceparent",
        };
        var identityHeaders = config.Auth.IdentityHeaders;
        var notForwarded = new HashSet<string>(identityHeaders.Names, StringComparer.OrdinalIgnoreCase);
        notForwarded.UnionWith(identityHeaders.LookAlikes(request.Headers));
        if (route.Auth is { ForwardAuthorization: false } auth)
        {
            notForwarded.Add("Authorization");
            if (auth.ApiKeyHeader is not null)
            {
                notForwarded.Add(auth.ApiKeyHeader);
            }
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in request.Headers)
        {
            var drop = Array.Exists(HopByHop.Fixed, h => h.Equals(name, StringComparison.OrdinalIgnoreCase))
                || nominated.Contains(name)
                || (name.Equals("Host", StringComparison.OrdinalIgnoreCase) && !route.PreserveHost)
                || (name.Equals(ForwardedHeaders.Forwarded, StringComparison.OrdinalIgnoreCase) && !trusted)
                || (name.Equals("tracestate", StringComparison.OrdinalIgnoreCase) && !trace.Continued)
                || notForwarded.Contains(name);
            if (drop)
            {
                removed.Add(name);
                continue;
            }

            if (gatewayOwned.Contains(name))
            {
                continue;
            }

            headers.Add(new(name, values.ToString()));
        }

        var forwarded = ForwardedHeaders.Compute(peer, trusted, request.Headers[ForwardedHeaders.For], request.Headers[ForwardedHeaders.Proto],
            request.Headers[ForwardedHeaders.Host], request.Scheme, request.Host.Value ?? "");
        if (!route.PreserveHost)
        {
            headers.Add(new("Host", backend.Url.Authority));
        }

        headers.Add(new(ForwardedHeaders.For, forwarded.For));
        headers.Add(new(ForwardedHeaders.Proto, forwarded.Proto));
        if (forwarded.Host.Length > 0)
        {
            headers.Add(new(ForwardedHeaders.Host, forwarded.Host));
        }
        if (identity is not null)
        {
            headers.AddRange(identityHeaders.For(identity));
        }

        headers.Add(new(RequestIds.HeaderName, requestId));
        headers.Add(new("traceparent", trace.TraceParent));
        if (route.Auth is { ForwardAuthorization: false, TokenCookie: { } cookie } && request.Headers.Cookie.Count > 0)
        {
            headers.RemoveAll(h => h.Key.Equals("Cookie", StringComparison.OrdinalIgnoreCase));
            if (Authentication.Cookies.Without(request.Headers.Cookie.ToString(), cookie) is { } rest)
            {
                headers.Add(new("Cookie", rest));
            }
        }

        var query = route.Auth is { } policy ? policy.UpstreamQuery(target.Query) : target.Query;
        var url = backend.Prefix + route.UpstreamPath(target.Path) + query;
        return new UpstreamPlan(request.Method, url, backend, headers, removed);
    }
}
