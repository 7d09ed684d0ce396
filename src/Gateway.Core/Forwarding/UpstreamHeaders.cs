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
/// X-Request-Id and traceparent set by the gateway (tracestate kept only with the client's valid traceparent, and
/// like baggage only within its size bound); client-address headers (X-Real-IP and kin) only from trusted
/// proxies; identity headers only from the gateway; what the route's <see cref="UpstreamShape"/> keeps at the
/// gateway dropped; then the route's request transform (<see cref="Exchange.RequestEdits"/>: removed, set and added
/// headers, applied to what the rules above left, the gateway's own headers included); then what authentication
/// added (<see cref="Exchange.IdentityHeaders"/>), which no transform can touch.
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
        Baggage,
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
        ["baggage"] = Rule.Baggage,
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
        var edits = exchange.RequestEdits;
        var transform = edits?.Transform.Headers;
        var host = edits?.Transform.Host;
        Span<bool> seen = transform is null ? default : transform.Edits.Length <= 64 ? stackalloc bool[transform.Edits.Length] : new bool[transform.Edits.Length];

        if (!shape.PreserveHost || host is not null)
        {
            sink.Add(HeaderNames.Host, host ?? backendAuthority);
        }

        foreach (var (name, values) in incoming)
        {
            if (Rules.TryGetValue(name, out var rule))
            {
                var drop = rule switch
                {
                    Rule.HopByHop => true,
                    Rule.Host => !shape.PreserveHost || host is not null,
                    Rule.GatewayOwned => false,
                    Rule.Forwarded => !trusted,
                    Rule.TraceState => !exchange.Trace.Continued || TotalLength(values) > Observability.IncomingTrace.MaxTraceState,
                    Rule.Baggage => TotalLength(values) > MaxBaggage,
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
                    || (shape.ForwardingHeadersFromTrustedOnly && (name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase) || name.StartsWith("X_Forwarded_", StringComparison.OrdinalIgnoreCase)))))
                || (lookAlikes && name.Contains('_', StringComparison.Ordinal) && shape.DroppedLookAlikes.Contains(name.Replace('_', '-'))))
            {
                sink.Dropped(name);
                continue;
            }

            Emit(ref sink, name, values, transform, seen);
        }

        var forwarded = ForwardedHeaders.Compute(peer, trusted, incoming[ForwardedHeaders.For], incoming[ForwardedHeaders.Proto],
            incoming[ForwardedHeaders.Host], exchange.Scheme, exchange.Authority);
        Emit(ref sink, ForwardedHeaders.For, forwarded.For, transform, seen);
        Emit(ref sink, ForwardedHeaders.Proto, forwarded.Proto, transform, seen);
        if (forwarded.Host.Length > 0)
        {
            Emit(ref sink, ForwardedHeaders.Host, forwarded.Host, transform, seen);
        }

        Emit(ref sink, RequestIds.HeaderName, exchange.RequestId, transform, seen);
        Emit(ref sink, "traceparent", exchange.Trace.TraceParent, transform, seen);
        if (rewriteCookie && Authentication.Cookies.Without(JoinCookies(incoming.Cookie), shape.DropCookie!) is { } rest)
        {
            Emit(ref sink, HeaderNames.Cookie, rest, transform, seen);
        }

        if (transform is not null)
        {
            var values = edits!.Values;
            for (var i = 0; i < transform.Edits.Length; i++)
            {
                var edit = transform.Edits[i];
                if ((edit.Kind == Transforms.EditKind.Set || (edit.Kind == Transforms.EditKind.Add && !seen[i])) && values[i] is { } value)
                {
                    sink.Add(edit.Name, value);
                }
            }
        }

        if (exchange.IdentityHeaders is { } identity)
        {
            foreach (var (name, value) in identity)
            {
                sink.Add(name, value);
            }
        }
    }

    /// <summary>The longest <c>baggage</c> passed on (W3C Baggage: at least 8192 bytes are propagated); a longer one is dropped whole.</summary>
    internal const int MaxBaggage = 8192;

    private static int TotalLength(StringValues values)
    {
        var total = 0;
        foreach (var value in values)
        {
            total += value?.Length ?? 0;
        }

        return total;
    }

    /// <summary>A header that passed the gateway's rules, as the route's transform has it: removed, kept for its set value, or noted as present.</summary>
    private static void Emit<TSink>(ref TSink sink, string name, StringValues values, Transforms.HeaderEdits? transform, Span<bool> seen)
        where TSink : struct, IUpstreamHeaderSink
    {
        if (transform is not null && transform.Index.TryGetValue(name, out var index))
        {
            switch (transform.Edits[index].Kind)
            {
                case Transforms.EditKind.Remove:
                    sink.Dropped(name);
                    return;
                case Transforms.EditKind.Set:
                    // Replaced by the set value after the gateway's own headers.
                    return;
                default:
                    seen[index] = true;
                    break;
            }
        }

        sink.Add(name, values);
    }

    /// <summary>Several Cookie lines are one cookie list joined with "; " (RFC 6265 5.4), never with ",".</summary>
    public static string JoinCookies(StringValues cookies) => cookies.Count == 1 ? cookies[0] ?? "" : string.Join("; ", cookies.ToArray());
}
