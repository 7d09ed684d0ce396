using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding;

/// <summary>
/// Sends through HttpClient with YARP's forwarder: TLS and HTTP/2 backends, WebSocket upgrades, gRPC trailers and
/// request bodies of unknown length. It needs the Kestrel request behind the exchange. The request's headers come from
/// <see cref="UpstreamHeaders"/> like on every path; YARP only copies bodies, upgrades and trailers.
/// </summary>
internal sealed class YarpSender(IHttpForwarder forwarder, HttpMessageInvoker invoker) : UpstreamSender
{
    public override bool CanSend(Exchange exchange) => exchange.Client.HttpContext is not null;

    public override async ValueTask<SendResult> SendAsync(Exchange exchange, UpstreamAttempt attempt)
    {
        var context = exchange.Client.HttpContext
            ?? throw new InvalidOperationException("this request's codec has no HTTP client path");
        CountingStream? counted = null;
        if (exchange.RequestBodyUnframed && context.Request.Body is not CountingStream)
        {
            counted = new CountingStream(context.Request.Body);
            context.Request.Body = counted;
        }

        var config = attempt.Route.RequestConfig with { ActivityTimeout = attempt.Timeout };
        context.Features.Set<IForwarderErrorFeature>(null);
        var error = await forwarder.SendAsync(context, attempt.Backend.Prefix, invoker, config, Transformer.Instance).ConfigureAwait(false);
        if (counted is not null || context.Request.Body is CountingStream)
        {
            exchange.RequestBytes = ((CountingStream)context.Request.Body).Count;
        }

        if (context.Response.Body is CountingStream response)
        {
            exchange.ResponseBytes = response.Count;
        }

        if (error == ForwarderError.None)
        {
            return Transformer.HeldBack(context) is int held ? new SendResult(UpstreamFailure.HeldBack, null, held) : SendResult.Ok;
        }

        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        return new SendResult(Classify(error, exception, context), exception);
    }

    private static UpstreamFailure Classify(ForwarderError error, Exception? exception, HttpContext context) => error switch
    {
        ForwarderError.RequestTimedOut => UpstreamFailure.Timeout,
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
            or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled => UpstreamFailure.ClientGone,
        ForwarderError.RequestBodyClient when UpstreamErrors.FindBadRequest(exception) is { StatusCode: StatusCodes.Status413PayloadTooLarge } => UpstreamFailure.ClientBodyTooLarge,
        ForwarderError.RequestBodyClient or ForwarderError.UpgradeRequestClient => UpstreamFailure.ClientBodyFailed,
        ForwarderError.ResponseBodyDestination or ForwarderError.UpgradeResponseDestination or ForwarderError.UpgradeRequestDestination
            => context.Response.HasStarted ? UpstreamFailure.ResponseBodyFailed : UpstreamFailure.Reset,
        ForwarderError.ResponseHeaders => UpstreamFailure.InvalidResponse,
        _ when UpstreamErrors.ConnectFailed(exception) => UpstreamFailure.ConnectFailed,
        _ when UpstreamErrors.InvalidResponse(exception) => UpstreamFailure.InvalidResponse,
        _ => UpstreamFailure.Reset,
    };

    /// <summary>Applies the gateway's header rules to YARP's request, and its response rules to the client's response.</summary>
    private sealed class Transformer : HttpTransformer
    {
        public static readonly Transformer Instance = new();

        private static readonly object HeldBackKey = new();

        public static int? HeldBack(HttpContext context) => context.Items.TryGetValue(HeldBackKey, out var status) ? (int?)status : null;

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            // The base copy runs only so that YARP gives a body-less request the empty content a content header needs
            // (it refuses a content of anyone else's); what it copied is then replaced by the gateway's own rules.
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            proxyRequest.Headers.Clear();
            proxyRequest.Content?.Headers.Clear();
            var exchange = httpContext.Features.GetRequiredFeature<Exchange>();
            var attempt = exchange.Attempt!;
            var shape = attempt.Route.Shape;
            var sink = new HttpRequestMessageSink(proxyRequest);
            UpstreamHeaders.Write(exchange, shape, attempt.Backend.HostHeader, httpContext.Request.Headers.Connection, ref sink);
            if (HttpProtocol.IsHttp2(httpContext.Request.Protocol) && httpContext.Request.Headers.TE.ToString().Contains("trailers", StringComparison.OrdinalIgnoreCase))
            {
                // HTTP/2 allows TE with "trailers" only, and gRPC backends need it.
                proxyRequest.Headers.TryAddWithoutValidation(HeaderNames.TE, "trailers");
            }

            proxyRequest.RequestUri = shape.Url(destinationPrefix, exchange.Path, exchange.Query);
        }

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            var exchange = httpContext.Features.GetRequiredFeature<Exchange>();
            var attempt = exchange.Attempt!;
            if (proxyResponse is not null && attempt.HoldsBack((int)proxyResponse.StatusCode))
            {
                // Held back so the request can go to another attempt; nothing of it reaches the client.
                httpContext.Items[HeldBackKey] = (int)proxyResponse.StatusCode;
                httpContext.Response.Clear();
                return false;
            }

            httpContext.Items.Remove(HeldBackKey);
            var proceed = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
            if (proxyResponse is null)
            {
                return proceed;
            }

            var response = httpContext.Response;
            HopByHop.RemoveNominated(proxyResponse.Headers, response.Headers);
            response.Headers.Remove(HeaderNames.Trailer);
            if (response.ContentLength is null)
            {
                response.Body = new CountingStream(response.Body);
            }

            attempt.HeadReceived(response.StatusCode);
            return proceed;
        }
    }
}
