using System.Collections.Frozen;
using Gateway.Routing;

namespace Gateway.Forwarding;

/// <summary>
/// How one route shapes the request its backends receive, compiled once: the path (strip_prefix), the query
/// (credentials kept at the gateway), and the client headers that never go upstream on this route (identity headers
/// the gateway owns, credentials it keeps, and look-alikes of both spelled with '_'). Both senders and the offline
/// verbs apply it through <see cref="UpstreamHeaders"/>.
/// </summary>
internal sealed class UpstreamShape
{
    public required CompiledRoute Route { get; init; }

    /// <summary>Client headers removed on this route (case-insensitive).</summary>
    public required FrozenSet<string> DroppedHeaders { get; init; }

    /// <summary>
    /// Names (with '-') whose '_' spellings are removed too: CGI-style backends read <c>X_User_Id</c> as <c>X-User-Id</c>.
    /// </summary>
    public required FrozenSet<string> DroppedLookAlikes { get; init; }

    /// <summary>Client headers removed when the peer is not a trusted proxy (on top of <c>server.proxy_only_headers</c>).</summary>
    public FrozenSet<string> UntrustedDropped { get; init; } = FrozenSet<string>.Empty;

    /// <summary>Every <c>X-Forwarded-*</c> header the gateway does not write itself passes only from a trusted proxy.</summary>
    public bool ForwardingHeadersFromTrustedOnly { get; init; }

    /// <summary>The client's Authorization header stays at the gateway.</summary>
    public bool DropAuthorization { get; init; }

    /// <summary>A cookie that stays at the gateway (removed from the Cookie header), or null.</summary>
    public string? DropCookie { get; init; }

    /// <summary>A query parameter that stays at the gateway, or null.</summary>
    public string? DropQueryParameter { get; init; }

    public bool PreserveHost => Route.PreserveHost;

    /// <summary>The upstream path: after strip_prefix, or as the route's path rewrites made it for this request.</summary>
    public string Path(Pipeline.Exchange exchange) => exchange.RequestEdits?.Path ?? Route.UpstreamPath(exchange.Path);

    /// <summary>The upstream query: credentials kept at the gateway dropped, then the route's query edits applied.</summary>
    public string Query(Pipeline.Exchange exchange)
    {
        var query = DropQueryParameter is null ? exchange.Query : QueryParameters.Without(exchange.Query, DropQueryParameter);
        return exchange.RequestEdits is { } edits ? edits.Query(query) : query;
    }

    /// <summary>
    /// The upstream URL for HttpClient, with path and query exactly as the own HTTP/1.1 client writes them (no second
    /// round of escaping or canonicalization), so both ways to a backend send the same target.
    /// </summary>
    public Uri Url(string prefix, Pipeline.Exchange exchange) =>
        new(Target(prefix, exchange), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    /// <summary>The upstream URL as text, escaped exactly as every sender writes it.</summary>
    public string Target(string prefix, Pipeline.Exchange exchange) =>
        string.Concat(prefix, UpstreamTarget.Escape(Path(exchange)), UpstreamTarget.Escape(Query(exchange)));
}

/// <summary>Collects what a route's stages want dropped from its upstream request while the route compiles.</summary>
internal sealed class UpstreamShapeBuilder(CompiledRoute route)
{
    /// <summary>Headers the gateway writes itself: their look-alikes never pass either.</summary>
    private static readonly string[] GatewayOwned =
    [
        ForwardedHeaders.For, ForwardedHeaders.Proto, ForwardedHeaders.Host, Pipeline.RequestIds.HeaderName,
        "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Content-Length", "Proxy-Authorization",
    ];

    private readonly HashSet<string> _dropped = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _untrusted = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _lookAlikes = new(GatewayOwned, StringComparer.OrdinalIgnoreCase);

    public bool DropAuthorization { get; set; }

    public string? DropCookie { get; set; }

    public string? DropQueryParameter { get; set; }

    /// <summary>A client header never forwarded on this route (its '_' look-alikes neither).</summary>
    public void Drop(string header)
    {
        _dropped.Add(header);
        _lookAlikes.Add(header);
    }

    /// <summary>A client header forwarded only from a trusted proxy on this route.</summary>
    public void DropFromUntrusted(string header)
    {
        _untrusted.Add(header);
        _untrusted.Add(header.Replace('-', '_'));
    }

    /// <summary>Every <c>X-Forwarded-*</c> header the gateway does not write itself passes only from a trusted proxy.</summary>
    public bool ForwardingHeadersFromTrustedOnly { get; set; }

    /// <summary>A header the gateway owns that may still pass as the client sent it; its '_' look-alikes never do.</summary>
    public void Own(string header) => _lookAlikes.Add(header);

    public UpstreamShape Build() => new()
    {
        Route = route,
        DroppedHeaders = _dropped.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
        DroppedLookAlikes = _lookAlikes.Where(n => n.Contains('-', StringComparison.Ordinal)).ToFrozenSet(StringComparer.OrdinalIgnoreCase),
        UntrustedDropped = _untrusted.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
        ForwardingHeadersFromTrustedOnly = ForwardingHeadersFromTrustedOnly,
        DropAuthorization = DropAuthorization,
        DropCookie = DropCookie,
        DropQueryParameter = DropQueryParameter,
    };
}
