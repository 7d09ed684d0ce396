using System.Collections.Frozen;
using Gateway.Pipeline;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Forwarding;

/// <summary>Receives the headers of an upstream request, in the order they are sent.</summary>
internal interface IUpstreamHeaderSink
{
    void Add(string name, StringValues values);

    /// <summary>A client header that is not forwarded (hop-by-hop, gateway-owned, credentials kept at the gateway).</summary>
    void Dropped(string name);
}

/// <summary>
/// The headers a backend receives, in one place for every sender and the offline verbs: hop-by-hop headers and
/// those named in Connection dropped; Host replaced by the backend's unless the route preserves it; X-Forwarded-*,
/// X-Request-Id and traceparent set by the gateway; client-address headers (X-Real-IP and kin) only from trusted
/// proxies; identity headers only from the gateway; what the route's <see cref="UpstreamShape"/> keeps at the
/// gateway dropped; then what the stages added (<see cref="Exchange.IdentityHeaders"/>).
/// </summary>
internal static class UpstreamHeaders
{
    private enum Rule : byte
    {
        HopByHop,
        Host,
        GatewayOwned,
        Forwarded,
        TraceState,
        Authorization,
        Cookie,
    }

    private static readonly FrozenDictionary<string, Rule> Rules = HopByHop.Fixed.Select(name => KeyValuePair.Create(name, Rule.HopByHop))
        .Concat(new Dictionary<string, Rule>
    {
        [HeaderNames.Host] = Rule.Host,
        [ForwardedHeaders.For] = Rule.GatewayOwned,
        [ForwardedHeaders.Proto] = Rule.GatewayOwned,
        [ForwardedHeaders.Host] = Rule.GatewayOwned,
        [RequestIds.HeaderName] = Rule.GatewayOwned,
        ["traceparent"] = Rule.GatewayOwned,
        [ForwardedHeaders.Forwarded] = Rule.Forwarded,
        ["tracestate"] = Rule.TraceState,
        [HeaderNames.Authorization] = Rule.Authorization,
        [HeaderNames.Cookie] = Rule.Cookie,
    }).ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <param name="connection">The request's Connection header as the codec delivered it.</param>
    public static void Write<TSink>(Exchange exchange, UpstreamShape shape, string backendAuthority, StringValues connection, ref TSink sink)
        where TSink : struct, IUpstreamHeaderSink
    {
        var config = exchange.Config;
        var incoming = exchange.RequestHeaders;
        var nominated = connection.Count == 0 ? null : HopByHop.Nominated(connection);
        var peer = exchange.Peer;
        var trusted = peer is not null && config.TrustedProxies.Length > 0 && config.IsTrustedProxy(peer);
        var rewriteCookie = shape.DropCookie is not null && incoming.Cookie.Count > 0;
        var lookAlikes = exchange.HasUnderscoreHeaders;

        if (!shape.PreserveHost)
        {
            sink.Add(HeaderNames.Host, backendAuthority);
        }

        foreach (var (name, values) in incoming)
        {
            if (Rules.TryGetValue(name, out var rule))
            {
                var drop = rule switch
                {
                    Rule.HopByHop => true,
                    Rule.Host => !shape.PreserveHost,
                    Rule.GatewayOwned => false,
                    Rule.Forwarded => !trusted,
                    Rule.TraceState => !exchange.Trace.Continued,
                    Rule.Authorization => shape.DropAuthorization,
                    _ => false,
                };
                if (drop)
                {
                    sink.Dropped(name);
                    continue;
                }

                if (rule == Rule.GatewayOwned || (rule == Rule.Cookie && rewriteCookie))
                {
                    // Replaced below.
                    continue;
                }
            }

            if ((nominated is not null && nominated.Contains(name, StringComparer.OrdinalIgnoreCase))
                || shape.DroppedHeaders.Contains(name)
                || (!trusted && (config.ProxyOnlyHeaders.Contains(name) || shape.UntrustedDropped.Contains(name)
                    || (shape.ForwardingHeadersFromTrustedOnly && name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase))))
                || (lookAlikes && name.Contains('_', StringComparison.Ordinal) && shape.DroppedLookAlikes.Contains(name.Replace('_', '-'))))
            {
                sink.Dropped(name);
                continue;
            }

            sink.Add(name, values);
        }

        var forwarded = ForwardedHeaders.Compute(peer, trusted, incoming[ForwardedHeaders.For], incoming[ForwardedHeaders.Proto],
            incoming[ForwardedHeaders.Host], exchange.Scheme, exchange.Authority);
        sink.Add(ForwardedHeaders.For, forwarded.For);
        sink.Add(ForwardedHeaders.Proto, forwarded.Proto);
        if (forwarded.Host.Length > 0)
        {
            sink.Add(ForwardedHeaders.Host, forwarded.Host);
        }

        sink.Add(RequestIds.HeaderName, exchange.RequestId);
        sink.Add("traceparent", exchange.Trace.TraceParent);
        if (rewriteCookie && Authentication.Cookies.Without(JoinCookies(incoming.Cookie), shape.DropCookie!) is { } rest)
        {
            sink.Add(HeaderNames.Cookie, rest);
        }

        if (exchange.IdentityHeaders is { } identity)
        {
            foreach (var (name, value) in identity)
            {
                sink.Add(name, value);
            }
        }
    }

    /// <summary>Several Cookie lines are one cookie list joined with "; " (RFC 6265 5.4), never with ",".</summary>
    public static string JoinCookies(StringValues cookies) => cookies.Count == 1 ? cookies[0] ?? "" : string.Join("; ", cookies.ToArray());
}
