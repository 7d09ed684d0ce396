using System.IO.Pipelines;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Forwarding;

/// <summary>
/// Sends through HttpClient without YARP, for exchanges whose codec has no Kestrel request (the gateway's own HTTP/1.1
/// codec): TLS and HTTP/2 backends, and request bodies the own HTTP/1.1 client does not frame (chunked, Expect). The
/// request is built from the exchange with the one set of header rules; the answer's head goes into the exchange's
/// response, is recorded through the attempt, and its body streams to the client under the route's inactivity timeout.
/// </summary>
internal sealed class HttpClientSender(HttpMessageInvoker invoker, TimeProvider time) : UpstreamSender
{
    private const int CopyBufferBytes = 16 * 1024;

    public override bool CanSend(Exchange exchange) => true;

    public override async ValueTask<SendResult> SendAsync(Exchange exchange, UpstreamAttempt attempt)
    {
        var hasBody = exchange.RequestContentLength > 0 || exchange.RequestBodyUnframed;
        using var inactivity = new CancellationTokenSource(attempt.Timeout, time);
        var body = hasBody ? new ClientBodyContent(exchange.Client.RequestBody, inactivity, attempt.Timeout) : null;
        try
        {
            return await SendAsync(exchange, attempt, inactivity, body).ConfigureAwait(false);
        }
        finally
        {
            // A backend that answered before taking the whole body leaves the copy running: the codec must be the body's
            // only reader again before it reads (or drops) the rest, or the connection cannot be kept.
            var stopped = body is null || await body.StopAsync().ConfigureAwait(false);
            if (!stopped)
            {
                exchange.Client.Abort();
            }

            if (body is not null && exchange.RequestBodyUnframed)
            {
                // A chunked body has no length up front: what was read of it is what the access log and metrics count.
                exchange.RequestBytes = body.Read;
            }
        }
    }

    private async ValueTask<SendResult> SendAsync(Exchange exchange, UpstreamAttempt attempt, CancellationTokenSource inactivity, ClientBodyContent? body)
    {
        var client = exchange.Client;
        var route = attempt.Route;
        var shape = route.Shape;
        var backend = attempt.Backend;
        using var request = new HttpRequestMessage(new HttpMethod(exchange.Method), shape.Url(backend.Prefix, exchange))
        {
            Version = route.Version,
            VersionPolicy = route.VersionPolicy,
        };
        request.Content = body is not null ? body : HasContentHeader(exchange) ? new ByteArrayContent([]) : null;
        var sink = new HttpRequestMessageSink(request);
        UpstreamHeaders.Write(exchange, shape, backend.HostHeader, exchange.RequestHeaders.Connection, ref sink);
        if (request.Content is { } content && exchange.RequestContentLength is long length)
        {
            content.Headers.ContentLength = length;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(inactivity.Token, client.Aborted);
        HttpResponseMessage response;
        try
        {
            response = await invoker.SendAsync(request, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or BadHttpRequestException)
        {
            // A timeout while the gateway was waiting for the client's body is the client's; anything else is the backend's.
            var failure = Classify(e, client.Aborted.IsCancellationRequested, inactivity.IsCancellationRequested, nothingReceived: true);
            return new SendResult(failure == UpstreamFailure.Timeout && body is { WaitingForClient: true } ? UpstreamFailure.ClientBodyTimeout : failure, e);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (attempt.HoldsBack(status))
            {
                return new SendResult(UpstreamFailure.HeldBack, null, status);
            }

            CopyHeaders(response, client);
            client.Status = status;
            attempt.HeadReceived(status);
            if (exchange.IsHead || status is 204 or 304)
            {
                return SendResult.Ok;
            }

            try
            {
                await client.StartResponseAsync(linked.Token).ConfigureAwait(false);
                var total = await CopyBodyAsync(response, client, inactivity, attempt.Timeout, linked.Token).ConfigureAwait(false);
                exchange.ResponseBytes = total;
                return SendResult.Ok;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                var gone = client.Aborted.IsCancellationRequested || e is ClientGoneException;
                if (!client.Aborted.IsCancellationRequested)
                {
                    // Cut short: the client must not take what it got for the whole response.
                    client.Abort();
                }

                return new SendResult(gone ? UpstreamFailure.ClientGone : UpstreamFailure.ResponseBodyFailed, e);
            }
        }
    }

    private static bool HasContentHeader(Exchange exchange)
    {
        foreach (var (name, _) in exchange.RequestHeaders)
        {
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The backend's headers minus hop-by-hop ones (and those its Connection names); the length is the codec's to write.</summary>
    private static void CopyHeaders(HttpResponseMessage response, IClientChannel client)
    {
        var target = client.ResponseHeaders;
        var nominated = response.Headers.TryGetValues(HeaderNames.Connection, out var connection)
            ? HopByHop.Nominated(new Microsoft.Extensions.Primitives.StringValues([.. connection]))
            : null;
        foreach (var (name, values) in response.Headers.NonValidated)
        {
            if (!HopByHop.Fixed.Contains(name) && nominated?.Contains(name, StringComparer.OrdinalIgnoreCase) != true)
            {
                target.Append(name, new Microsoft.Extensions.Primitives.StringValues([.. values]));
            }
        }

        foreach (var (name, values) in response.Content.Headers.NonValidated)
        {
            if (name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            target.Append(name, new Microsoft.Extensions.Primitives.StringValues([.. values]));
        }

        client.ResponseContentLength = response.Content.Headers.ContentLength;
    }

    private static async ValueTask<long> CopyBodyAsync(HttpResponseMessage response, IClientChannel client, CancellationTokenSource inactivity, TimeSpan timeout, CancellationToken token)
    {
        var source = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        var output = client.ResponseBody;
        long total = 0;
        while (true)
        {
            inactivity.CancelAfter(timeout);
            var memory = output.GetMemory(CopyBufferBytes);
            var read = await source.ReadAsync(memory, token).ConfigureAwait(false);
            if (read == 0)
            {
                return total;
            }

            output.Advance(read);
            total += read;
            FlushResult flushed;
            try
            {
                flushed = await output.FlushAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The client stopped reading for the route's timeout (or went away): its doing, not the backend's.
                throw new ClientGoneException();
            }

            if (flushed.IsCompleted)
            {
                throw new ClientGoneException();
            }
        }
    }

    private static UpstreamFailure Classify(Exception e, bool clientGone, bool timedOut, bool nothingReceived)
    {
        if (clientGone)
        {
            return UpstreamFailure.ClientGone;
        }

        if (UpstreamErrors.FindBadRequest(e) is { } bad)
        {
            return bad.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => UpstreamFailure.ClientBodyTooLarge,
                StatusCodes.Status408RequestTimeout => UpstreamFailure.ClientBodyTimeout,
                _ => UpstreamFailure.ClientBodyFailed,
            };
        }

        if (timedOut)
        {
            return UpstreamFailure.Timeout;
        }

        if (UpstreamErrors.ConnectFailed(e))
        {
            return UpstreamFailure.ConnectFailed;
        }

        return UpstreamErrors.InvalidResponse(e) || !nothingReceived ? UpstreamFailure.InvalidResponse : UpstreamFailure.Reset;
    }

    /// <summary>
    /// The client's body as the request's content, read straight from the codec. Every piece that arrives restarts the
    /// route's inactivity timeout, and so does the end of the body (the backend's time to answer starts then), so a slow
    /// but steady upload never times out against the backend. The content is duplex: a backend that answers before the
    /// body ends (an early 401 or 413) is heard at once.
    /// </summary>
    private sealed class ClientBodyContent(PipeReader body, CancellationTokenSource inactivity, TimeSpan timeout) : HttpContent
    {
        /// <summary>How long a copy that was told to stop may take to do so before the connection is given up.</summary>
        private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

        private readonly CancellationTokenSource _stop = new();
        private Task? _copy;

        /// <summary>The copy is waiting for the client's next bytes (not for the backend to take the last ones).</summary>
        public bool WaitingForClient { get; private set; }

        /// <summary>Body bytes read from the client so far.</summary>
        public long Read { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken) =>
            _copy = CopyAsync(stream, cancellationToken);

        /// <summary>Stops a copy still under way and waits for it; false when it did not stop in time (the body's state is unknown).</summary>
        public async ValueTask<bool> StopAsync()
        {
            try
            {
                if (_copy is not { IsCompleted: false } copy)
                {
                    return true;
                }

                await _stop.CancelAsync().ConfigureAwait(false);
                await copy.WaitAsync(StopTimeout).ConfigureAwait(false);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
            catch (Exception)
            {
                // The copy ended with an error of its own (reported through the send, if at all): it has ended.
                return true;
            }
            finally
            {
                _stop.Dispose();
            }
        }

        private async Task CopyAsync(Stream stream, CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
            var cancel = linked.Token;
            while (true)
            {
                WaitingForClient = true;
                var read = await body.ReadAsync(cancel).ConfigureAwait(false);
                WaitingForClient = false;
                inactivity.CancelAfter(timeout);
                try
                {
                    foreach (var segment in read.Buffer)
                    {
                        await stream.WriteAsync(segment, cancel).ConfigureAwait(false);
                    }
                }
                finally
                {
                    // Also when the write failed: the reader must never be left holding a read (what was not sent is dropped).
                    Read += read.Buffer.Length;
                    body.AdvanceTo(read.Buffer.End);
                }

                if (read.IsCompleted || read.IsCanceled)
                {
                    await stream.FlushAsync(cancel).ConfigureAwait(false);
                    inactivity.CancelAfter(timeout);
                    return;
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>The client went away while the response was written.</summary>
    private sealed class ClientGoneException() : IOException("the client went away");
}
