using System.IO.Pipelines;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Hosting;

/// <summary>An exchange carried by Kestrel's HTTP layer: the request and response are Kestrel's, seen through <see cref="IClientChannel"/>.</summary>
internal sealed class KestrelChannel(HttpContext context) : IClientChannel
{
    public PipeReader RequestBody => context.Request.BodyReader;

    public CancellationToken Aborted => context.RequestAborted;

    public HttpContext HttpContext => context;

    public int Status
    {
        get => context.Response.StatusCode;
        set => context.Response.StatusCode = value;
    }

    public IHeaderDictionary ResponseHeaders => context.Response.Headers;

    public long? ResponseContentLength
    {
        get => context.Response.ContentLength;
        set => context.Response.ContentLength = value;
    }

    public bool ResponseStarted => context.Response.HasStarted;

    public PipeWriter ResponseBody => context.Response.BodyWriter;

    public Stream ResponseStream
    {
        get => context.Response.Body;
        set => context.Response.Body = value;
    }

    /// <summary>Builds the exchange for a request Kestrel has read, on the snapshot it will run on.</summary>
    public static Exchange CreateExchange(HttpContext context, RuntimeConfig config, TimeProvider time)
    {
        var request = context.Request;
        var exchange = new Exchange(new KestrelChannel(context), config, time, request.Method,
            context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget, request.Headers)
        {
            Scheme = request.Scheme,
            Protocol = request.Protocol,
            Peer = ClientAddress.Normalize(context.Connection.RemoteIpAddress),
            ClientCertificate = context.Connection.ClientCertificate,
            RequestContentLength = request.ContentLength,
            RequestBodyUnframed = request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true,
        };
        context.Features.Set(exchange);
        if (context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(Http1.NativeConnection.HandedOver) == true)
        {
            // Handed over by the native codec for a WebSocket upgrade: unless it switches protocols, this is the
            // connection's last request, so the rest of it is never read by a parser looser than the codec's.
            CloseAfterResponse(context);
        }

        return exchange;
    }

    /// <summary>
    /// Makes this response the connection's last (<c>Connection: close</c>, unless it switches protocols). Set as the
    /// response starts, so that it survives whatever clears the response before the gateway's own answer is written.
    /// </summary>
    public static void CloseAfterResponse(HttpContext context) => context.Response.OnStarting(static state =>
    {
        var response = ((HttpContext)state).Response;
        if (response.StatusCode != StatusCodes.Status101SwitchingProtocols)
        {
            response.Headers.Connection = "close";
        }

        return Task.CompletedTask;
    }, context);

    public void LimitRequestBody(long max)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max;
        }
    }

    public Task StartResponseAsync(CancellationToken cancel) => context.Response.StartAsync(cancel);

    public void ClearResponse()
    {
        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
        }

        context.Features.Set<IForwarderErrorFeature>(null);
    }

    public void Abort() => AbortConnection(context);

    /// <summary>
    /// Aborts the request, and on HTTP/1.x its connection, so that nothing more is ever read from it as a request.
    /// <see cref="HttpContext.Abort"/> alone leaves Kestrel's HTTP/1.1 request loop running: keep-alive stays on and,
    /// the connection counting as aborted, the unread rest of the request body is not drained, so whatever of the body
    /// is buffered (or arrives before the socket's receive loop ends) is parsed as the next request and served to a
    /// backend. Asking the connection to close first (what a graceful shutdown does) turns keep-alive off, so the loop
    /// ends with this request. On HTTP/2 and HTTP/3 the abort ends only this stream and the connection goes on.
    /// </summary>
    public static void AbortConnection(HttpContext context)
    {
        if (!HttpProtocol.IsHttp2(context.Request.Protocol) && !HttpProtocol.IsHttp3(context.Request.Protocol))
        {
            context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }

        context.Abort();
    }
}
