using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding;

/// <summary>
/// Shapes the upstream request and the client's response: the exact matched path, forwarding headers,
/// request id and trace context; hop-by-hop headers (and those named in Connection) removed both ways.
/// </summary>
internal sealed class GatewayTransformer : HttpTransformer
{
    public static readonly GatewayTransformer Instance = new();

    private GatewayTransformer()
    {
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        // The base copies the client's headers minus the fixed hop-by-hop set.
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);

        var feature = httpContext.Features.GetRequiredFeature<GatewayRequestFeature>();
        var route = feature.Route!;
        var incoming = httpContext.Request.Headers;
        var headers = proxyRequest.Headers;

        // Connection-nominated headers go first, so nothing the gateway adds below can be stripped this way.
        HopByHop.RemoveNominated(incoming.Connection, proxyRequest);
        headers.Remove(HeaderNames.Trailer);
        if (!route.PreserveHost)
        {
            headers.Host = null;
        }

        var peer = ClientAddress.Normalize(httpContext.Connection.RemoteIpAddress);
        var trusted = peer is not null && feature.Config.TrustedProxies.Length > 0 && feature.Config.IsTrustedProxy(peer);
        var forwarded = ForwardedHeaders.Compute(peer, trusted, incoming[ForwardedHeaders.For], incoming[ForwardedHeaders.Proto],
            incoming[ForwardedHeaders.Host], httpContext.Request.Scheme, httpContext.Request.Host.Value ?? "");
        headers.Remove(ForwardedHeaders.For);
        headers.Remove(ForwardedHeaders.Proto);
        headers.Remove(ForwardedHeaders.Host);
        if (!trusted)
        {
            headers.Remove(ForwardedHeaders.Forwarded);
        }

        headers.TryAddWithoutValidation(ForwardedHeaders.For, forwarded.For);
        headers.TryAddWithoutValidation(ForwardedHeaders.Proto, forwarded.Proto);
        if (forwarded.Host.Length > 0)
        {
            headers.TryAddWithoutValidation(ForwardedHeaders.Host, forwarded.Host);
        }

        // Identity headers belong to the gateway: the client's copies never reach the backend.
        var identityHeaders = feature.Config.Auth.IdentityHeaders;
        foreach (var name in identityHeaders.Names)
        {
            headers.Remove(name);
        }

        if (feature.Identity is { } identity)
        {
            foreach (var (name, value) in identityHeaders.For(identity))
            {
                headers.TryAddWithoutValidation(name, value);
            }
        }

        if (feature.HasUnderscoreHeaders)
        {
            foreach (var name in identityHeaders.LookAlikes(incoming))
            {
                headers.Remove(name);
            }
        }

        if (route.Auth is { ForwardAuthorization: false } auth)
        {
            // Credentials stay at the gateway, wherever they were read from.
            headers.Authorization = null;
            if (auth.ApiKeyHeader is { } apiKeyHeader)
            {
                headers.Remove(apiKeyHeader);
            }

            if (auth.TokenCookie is { } cookie && incoming.Cookie.Count > 0)
            {
                headers.Remove("Cookie");
                if (Authentication.Cookies.Without(UpstreamHeaders.JoinCookies(incoming.Cookie), cookie) is { } rest)
                {
                    headers.TryAddWithoutValidation("Cookie", rest);
                }
            }
        }

        headers.Remove(RequestIds.HeaderName);
        headers.TryAddWithoutValidation(RequestIds.HeaderName, feature.RequestId);
        headers.Remove("traceparent");
        headers.TryAddWithoutValidation("traceparent", feature.Trace.TraceParent);
        if (!feature.Trace.Continued)
        {
            // A tracestate belongs to the trace it came with; a new trace starts without one.
            headers.Remove("tracestate");
        }

        var query = route.Auth is { } policy ? policy.UpstreamQuery(feature.Query) : feature.Query;
        proxyRequest.RequestUri = new Uri(string.Concat(destinationPrefix, route.UpstreamPath(feature.Path), query), UriKind.Absolute);
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var feature = httpContext.Features.GetRequiredFeature<GatewayRequestFeature>();
        if (proxyResponse is not null && feature.RetryableStatus && (int)proxyResponse.StatusCode is 502 or 503 or 504)
        {
            // Held back so the request can go to another attempt; nothing of it reaches the client.
            feature.HeldBackStatus = (int)proxyResponse.StatusCode;
            httpContext.Response.Clear();
            return false;
        }

        var proceed = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        if (proxyResponse is null)
        {
            return proceed;
        }

        var response = httpContext.Response;
        HopByHop.RemoveNominated(proxyResponse.Headers, response.Headers);
        response.Headers.Remove(HeaderNames.Trailer);
        response.Headers[RequestIds.HeaderName] = feature.RequestId;
        RateLimiting.RateLimitHeaders.Apply(response.Headers, feature.RateLimit);
        if (response.ContentLength is null)
        {
            var counter = new CountingStream(response.Body);
            response.Body = counter;
            feature.ResponseCounter = counter;
        }

        return proceed;
    }
}
