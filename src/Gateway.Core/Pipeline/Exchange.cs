using System.Net;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Gateway.Pipeline;

/// <summary>
/// One request and its response as the gateway sees them, whichever codec carried it: what the client sent,
/// what the stages learn on the way (route, identity, rate-limit outcome, backend, timings), and the answer the
/// gateway gives when it answers itself. Every stage reads and writes only this; the codec behind it is reached
/// through <see cref="Client"/>.
/// </summary>
internal sealed class Exchange
{
    private Dictionary<string, StringValues>? _queryValues;
    private string? _hostName;
    private List<ResponseBodyFilter>? _bodyFilters;
    private Stream? _unfilteredBody;

    public Exchange(IClientChannel client, RuntimeConfig config, TimeProvider time, string method, string rawTarget, IHeaderDictionary requestHeaders)
    {
        Client = client;
        Config = config;
        Time = time;
        StartTimestamp = time.GetTimestamp();
        Method = method;
        RawTarget = rawTarget;
        RequestHeaders = requestHeaders;
        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        Path = query < 0 ? rawTarget : rawTarget[..query];
    }

    // ---- The request, as the codec read it ----

    public IClientChannel Client { get; }

    /// <summary>The method in upper case (the framework's interned string for known methods).</summary>
    public string Method { get; }

    /// <summary>The request target exactly as sent (path and query, still encoded).</summary>
    public string RawTarget { get; }

    public string Scheme { get; init; } = "http";

    /// <summary><c>HTTP/1.1</c>, <c>HTTP/2</c>, ...</summary>
    public string Protocol { get; init; } = "HTTP/1.1";

    public IHeaderDictionary RequestHeaders { get; }

    /// <summary>The certificate the client presented in the TLS handshake (already verified against the client CA), or null.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; init; }

    /// <summary>The TCP peer (IPv4-mapped addresses unmapped, zones dropped).</summary>
    public IPAddress? Peer { get; init; }

    /// <summary>The request body's declared length, or null when it has none or is chunked.</summary>
    public long? RequestContentLength { get; init; }

    /// <summary>The request has a body of unknown length (chunked, or an HTTP/2 stream that goes on).</summary>
    public bool RequestBodyUnframed { get; init; }

    /// <summary>The <c>Host</c> header (HTTP/2's <c>:authority</c>), as sent.</summary>
    public string Authority => RequestHeaders.Host.Count > 0 ? RequestHeaders.Host[0] ?? "" : "";

    /// <summary>
    /// The host name the request is for, as routes compare it: lower case, without port and without the final dot of
    /// a fully qualified name. Never decoded (no IDN mapping), so no client input can make the comparison throw.
    /// </summary>
    public string HostName => _hostName ??= HostNames.Normalize(Authority);

    // ---- The snapshot and what the stages learn ----

    /// <summary>The config snapshot this request runs on from start to end, whatever reloads happen meanwhile.</summary>
    public RuntimeConfig Config { get; }

    public TimeProvider Time { get; }

    /// <summary>When the gateway started on this request (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long StartTimestamp { get; }

    public string RequestId { get; set; } = "";

    public TraceContext Trace { get; set; }

    /// <summary>The spans of this request when tracing sampled it (null otherwise: no span is made).</summary>
    public Observability.RequestTrace? Tracing { get; set; }

    /// <summary>The client's address under the trusted-proxy rules.</summary>
    public IPAddress? ClientIp { get; set; }

    /// <summary>The normalized path once routing has run (before: the raw path, for logs of early refusals).</summary>
    public string Path { get; set; }

    /// <summary>The raw query string including '?', or empty.</summary>
    public string Query { get; set; } = "";

    public CompiledRoute? Route { get; set; }

    /// <summary>Who sent the request, once authentication has run (null when anonymous).</summary>
    public Authentication.Identity? Identity { get; set; }

    /// <summary>What the rate limits decided (its headers go on every response of a limited route).</summary>
    public RateLimiting.RateLimitOutcome RateLimit { get; set; }

    /// <summary>A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method), routed by the method it asks about.</summary>
    public bool IsPreflight { get; set; }

    /// <summary>For a preflight: the routes its real request could reach (each must allow it; empty when none takes the method).</summary>
    public List<CompiledRoute>? PreflightRoutes { get; set; }

    /// <summary>The request's origin when the route's CORS policy allows it (its response then carries the allow headers).</summary>
    public string? CorsOrigin { get; set; }

    /// <summary>What the response cache decided (null where the route caches nothing).</summary>
    public Caching.CacheLookup? Cache { get; set; }

    /// <summary>The request has a header whose name contains '_' (noted by the limits stage while it counts headers).</summary>
    public bool HasUnderscoreHeaders { get; set; }

    /// <summary>The headers authentication adds to the upstream request from the identity (shared: never changed).</summary>
    public KeyValuePair<string, string>[]? IdentityHeaders { get; set; }

    /// <summary>What the route's request transform makes of this request (null: the route has none).</summary>
    public Transforms.RequestEdits? RequestEdits { get; set; }

    /// <summary>The backend of the last attempt.</summary>
    public Backend? Backend { get; set; }

    /// <summary>The attempt under way (for senders that get back control through a callback).</summary>
    public UpstreamAttempt? Attempt { get; set; }

    /// <summary>Time spent waiting on backends, in timestamp ticks (0 when none was called).</summary>
    public long UpstreamTicks { get; set; }

    /// <summary>Bytes of a request body that had no Content-Length, once counted.</summary>
    public long? RequestBytes { get; set; }

    /// <summary>Bytes of a response body that had no Content-Length, once counted.</summary>
    public long? ResponseBytes { get; set; }

    // ---- The gateway's own answer, and the offline verbs ----

    /// <summary>The answer a stage gave instead of forwarding (written once the response side of the stages has run).</summary>
    public Answer? Answer { get; private set; }

    /// <summary>Decided without network or side effects (explain, route tests): nothing is counted, nothing is sent.</summary>
    public bool Offline { get; init; }

    /// <summary>Offline: the request the backend would receive.</summary>
    public UpstreamPlan? Plan { get; set; }

    /// <summary>Index of the last stage whose request side ran (the response side runs for it and those before it).</summary>
    internal int StageCursor { get; set; } = -1;

    /// <summary>The response side of the stages has run for the response now being built.</summary>
    internal bool ResponsePrepared { get; set; }

    /// <summary>The query parameters, decoded (parsed on first use).</summary>
    public Dictionary<string, StringValues> QueryValues => _queryValues ??= QueryHelpers.ParseNullableQuery(Query) ?? [];

    public StringValues QueryValue(string name) => QueryValues.TryGetValue(name, out var values) ? values : StringValues.Empty;

    /// <summary>The authenticated user, for the access log (null when anonymous).</summary>
    public string? User => Identity?.Subject;

    public bool IsHead => HttpMethods.IsHead(Method);

    /// <summary>
    /// Why the gateway answered itself, for the access log: the code of the answer given (null when the backend's own
    /// response went out). It is the answer's, so it changes only when another answer replaces the first.
    /// </summary>
    public string? Reason => Answer?.Reason;

    /// <summary>
    /// The response went out incomplete: the backend or the client failed inside its body, or the gateway cut it off.
    /// Nothing that keeps or completes the body (the cache, compression) may then treat it as whole.
    /// </summary>
    public bool ResponseCut { get; set; }

    /// <summary>A stage answers instead of forwarding; the last answer given wins.</summary>
    public void Respond(Answer answer) => Answer = answer;

    /// <summary>Forgets a response that has not started, so that another one can be built (a retry, an error document).</summary>
    public void ResetResponse()
    {
        DiscardResponseBodyFilters();
        Client.ClearResponse();
        ResponsePrepared = false;
    }

    /// <summary>Routes this response's body through <paramref name="filter"/> (from a stage's response side only).</summary>
    public void FilterResponseBody(ResponseBodyFilter filter) => (_bodyFilters ??= []).Add(filter);

    /// <summary>Whether filters are installed on the response now being built.</summary>
    internal bool HasResponseBodyFilters => _bodyFilters is { Count: > 0 };

    /// <summary>Chains the filters the response sides added in front of the client's body (once they have all run).</summary>
    internal void InstallResponseBodyFilters()
    {
        if (_bodyFilters is not { Count: > 0 } filters || _unfilteredBody is not null)
        {
            return;
        }

        var body = _unfilteredBody = Client.ResponseStream;
        for (var i = filters.Count - 1; i >= 0; i--)
        {
            body = filters[i].Wrap(body);
        }

        Client.ResponseStream = body;
    }

    /// <summary>
    /// Ends the filtered body once the response is over: completes every filter (first installed first, so each one's
    /// last bytes pass through the rest) when the body went out whole, discards them when it did not.
    /// </summary>
    internal async ValueTask CompleteResponseBodyAsync()
    {
        if (_bodyFilters is not { Count: > 0 } filters)
        {
            return;
        }

        if (ResponseCut || Client.Aborted.IsCancellationRequested)
        {
            DiscardResponseBodyFilters();
            return;
        }

        try
        {
            // What a sender left in the codec's writer reaches the filters first.
            await Client.ResponseBody.FlushAsync(Client.Aborted).ConfigureAwait(false);
            foreach (var filter in filters)
            {
                await filter.CompleteAsync(Client.Aborted).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            ResponseCut = true;
            DiscardResponseBodyFilters();
            Client.Abort();
            return;
        }

        Client.ResponseStream = _unfilteredBody!;
        _unfilteredBody = null;
        filters.Clear();
    }

    private void DiscardResponseBodyFilters()
    {
        if (_bodyFilters is not { Count: > 0 } filters)
        {
            return;
        }

        foreach (var filter in filters)
        {
            filter.Discard();
        }

        filters.Clear();
        if (_unfilteredBody is { } unfiltered)
        {
            Client.ResponseStream = unfiltered;
            _unfilteredBody = null;
        }
    }
}
