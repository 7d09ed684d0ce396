using System.Collections.Frozen;
using System.Net;
using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;
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

/// <summary>What the upstream header rules need to know about one request.</summary>
internal readonly record struct UpstreamRequestFacts(
    HttpRequest Request,
    StringValues Connection,
    CompiledRoute Route,
    RuntimeConfig Config,
    IPAddress? Peer,
    bool HasUnderscoreHeaders,
    string RequestId,
    TraceContext Trace,
    Authentication.Identity? Identity,
    string BackendAuthority);

/// <summary>
/// The headers a backend receives, in one place for the HTTP/1.1 forwarder and the offline tools (explain, route
/// tests): hop-by-hop headers and those named in Connection dropped; Host replaced by the backend's unless the
/// route preserves it; X-Forwarded-*, X-Request-Id and traceparent set by the gateway; identity headers only from
/// the gateway; credentials dropped where the route keeps them. The YARP transformer applies the same rules to an
/// <see cref="HttpRequestMessage"/>; a test sends the same requests both ways and compares what backends receive.
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

    public static void Write<TSink>(in UpstreamRequestFacts facts, ref TSink sink)
        where TSink : struct, IUpstreamHeaderSink
    {
        var request = facts.Request;
        var route = facts.Route;
        var incoming = request.Headers;
        var nominated = facts.Connection.Count == 0 ? null : HopByHop.Nominated(facts.Connection);
        var trusted = facts.Peer is not null && facts.Config.TrustedProxies.Length > 0 && facts.Config.IsTrustedProxy(facts.Peer);
        var identityHeaders = facts.Config.Auth.IdentityHeaders;
        var keptCredentials = route.Auth is { ForwardAuthorization: false } auth ? auth : null;
        var rewriteCookie = keptCredentials?.TokenCookie is not null && incoming.Cookie.Count > 0;

        if (!route.PreserveHost)
        {
            sink.Add(HeaderNames.Host, facts.BackendAuthority);
        }

        foreach (var (name, values) in incoming)
        {
            if (Rules.TryGetValue(name, out var rule))
            {
                var drop = rule switch
                {
                    Rule.HopByHop => true,
                    Rule.Host => !route.PreserveHost,
                    Rule.GatewayOwned => false,
                    Rule.Forwarded => !trusted,
                    Rule.TraceState => !facts.Trace.Continued,
                    Rule.Authorization => keptCredentials is not null,
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
                || identityHeaders.Owns(name, facts.HasUnderscoreHeaders)
                || (keptCredentials?.ApiKeyHeader is { } apiKeyHeader && apiKeyHeader.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                sink.Dropped(name);
                continue;
            }

            sink.Add(name, values);
        }

        var forwarded = ForwardedHeaders.Compute(facts.Peer, trusted, incoming[ForwardedHeaders.For], incoming[ForwardedHeaders.Proto],
            incoming[ForwardedHeaders.Host], request.Scheme, request.Host.Value ?? "");
        sink.Add(ForwardedHeaders.For, forwarded.For);
        sink.Add(ForwardedHeaders.Proto, forwarded.Proto);
        if (forwarded.Host.Length > 0)
        {
            sink.Add(ForwardedHeaders.Host, forwarded.Host);
        }

        if (facts.Identity is { } identity)
        {
            foreach (var (name, value) in identityHeaders.For(identity))
            {
                sink.Add(name, value);
            }
        }

        sink.Add(RequestIds.HeaderName, facts.RequestId);
        sink.Add("traceparent", facts.Trace.TraceParent);
        if (rewriteCookie && Authentication.Cookies.Without(JoinCookies(incoming.Cookie), keptCredentials!.TokenCookie!) is { } rest)
        {
            sink.Add(HeaderNames.Cookie, rest);
        }
    }

    /// <summary>Several Cookie lines are one cookie list joined with "; " (RFC 6265 5.4), never with ",".</summary>
    public static string JoinCookies(StringValues cookies) => cookies.Count == 1 ? cookies[0] ?? "" : string.Join("; ", cookies.ToArray());
}
