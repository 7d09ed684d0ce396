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
        var client = exchange.Client;
        var route = attempt.Route;
        var shape = route.Shape;
        var backend = attempt.Backend;
        using var request = new HttpRequestMessage(new HttpMethod(exchange.Method), shape.Url(backend.Prefix, exchange.Path, exchange.Query))
        {
            Version = route.Version,
            VersionPolicy = route.VersionPolicy,
        };
        var hasBody = exchange.RequestContentLength > 0 || exchange.RequestBodyUnframed;
        request.Content = hasBody || HasContentHeader(exchange) ? new StreamContent(hasBody ? client.RequestBody.AsStream(leaveOpen: true) : Stream.Null) : null;
        var sink = new HttpRequestMessageSink(request);
        UpstreamHeaders.Write(exchange, shape, backend.HostHeader, exchange.RequestHeaders.Connection, ref sink);
        if (request.Content is { } content && exchange.RequestContentLength is long length)
        {
            content.Headers.ContentLength = length;
        }

        using var inactivity = new CancellationTokenSource(attempt.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(inactivity.Token, client.Aborted);
        HttpResponseMessage response;
        try
        {
            response = await invoker.SendAsync(request, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or BadHttpRequestException)
        {
            return new SendResult(Classify(e, client.Aborted.IsCancellationRequested, inactivity.IsCancellationRequested, nothingReceived: true), e);
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
            return bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? UpstreamFailure.ClientBodyTooLarge : UpstreamFailure.ClientBodyFailed;
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

    /// <summary>The client went away while the response was written.</summary>
    private sealed class ClientGoneException() : IOException("the client went away");
}
