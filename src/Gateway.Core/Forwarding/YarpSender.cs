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
        var counted = context.Request.Body as CountingStream;
        if (counted is null && (exchange.RequestBodyUnframed || exchange.RequestContentLength > 0))
        {
            counted = new CountingStream(context.Request.Body);
            context.Request.Body = counted;
        }

        var config = attempt.Route.RequestConfig with { ActivityTimeout = attempt.Timeout };
        context.Features.Set<IForwarderErrorFeature>(null);
        var error = await forwarder.SendAsync(context, attempt.Backend.Prefix, invoker, config, Transformer.Instance).ConfigureAwait(false);
        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        if (counted is not null)
        {
            if (UpstreamErrors.FindBadRequest(exception) is null && !context.RequestAborted.IsCancellationRequested)
            {
                // (A body that broke its framing or its limit ends the connection in Kestrel already, after its 400 or 413.)
                await SettleBodyAsync(context, counted, exchange.RequestContentLength).ConfigureAwait(false);
            }

            if (exchange.RequestBodyUnframed)
            {
                exchange.RequestBytes = counted.Count;
            }
        }

        if (Transformer.CountedResponse(context) is { } response)
        {
            // (Read from where it was put: a response-body filter may stand in front of it by now.)
            exchange.ResponseBytes = response.Count;
        }

        if (error == ForwarderError.None || (error == ForwarderError.RequestBodyDestination && context.Response.HasStarted))
        {
            // A backend that answered and stopped taking the rest of the body (an early 413, an HTTP/2 stream reset
            // after the answer) did nothing wrong: its answer is what the client got.
            return Transformer.HeldBack(context) is int held ? new SendResult(UpstreamFailure.HeldBack, null, held) : SendResult.Ok;
        }

        return new SendResult(Classify(error, exception, context), exception);
    }

    /// <summary>
    /// A backend that answered before the request body ended (and reset its stream) leaves the forwarder's copy cut off,
    /// often with Kestrel's body reader left holding a read; Kestrel, draining the body after the request, can then take
    /// the rest of the body for the next request. So the rest is read here, up to 1 MiB within 5 s, and the connection is
    /// closed when that does not reach the body's end exactly (a body left mid-read cannot be read on at all): after the
    /// response when it has not started (so the client still gets the gateway's answer), at once when it has. Never a
    /// request parsed out of a body.
    /// </summary>
    private static async ValueTask SettleBodyAsync(HttpContext context, CountingStream body, long? length)
    {
        if (length is long expected ? body.Count >= expected : body.Ended)
        {
            return;
        }

        var settled = false;
        if (!context.RequestAborted.IsCancellationRequested)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(BodyDrain.Timeout);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                if (body.PendingRead is { } abandoned)
                {
                    // The forwarder's last read, left running: its bytes are the body's, and they go too.
                    await abandoned.WaitAsync(timeout.Token).ConfigureAwait(false);
                }

                var start = body.Count;
                while (body.Count - start <= BodyDrain.MaxBytes && await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false) > 0)
                {
                }

                settled = body.Ended && (length is not long total || body.Count == total);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException or InvalidOperationException)
            {
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        if (settled)
        {
            return;
        }

        if (context.Response.HasStarted)
        {
            // (The connection's, not just the request's: Kestrel would otherwise parse the unread rest as a request.)
            Hosting.KestrelChannel.AbortConnection(context);
            return;
        }

        Hosting.KestrelChannel.CloseAfterResponse(context);
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

        private static readonly object CountedKey = new();

        public static int? HeldBack(HttpContext context) => context.Items.TryGetValue(HeldBackKey, out var status) ? (int?)status : null;

        /// <summary>The counter put in front of a response body of unknown length, if any.</summary>
        public static CountingStream? CountedResponse(HttpContext context) => context.Items.TryGetValue(CountedKey, out var counted) ? counted as CountingStream : null;

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

            proxyRequest.RequestUri = shape.Url(destinationPrefix, exchange);
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
                var counted = new CountingStream(response.Body);
                response.Body = counted;
                httpContext.Items[CountedKey] = counted;
            }

            attempt.HeadReceived(response.StatusCode);
            return proceed;
        }
    }
}
