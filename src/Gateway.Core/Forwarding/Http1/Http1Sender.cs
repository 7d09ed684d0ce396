using System.Runtime.CompilerServices;
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Forwarding.Http1;

/// <summary>
/// Sends a request to a plain-HTTP backend over the gateway's own keep-alive HTTP/1.1 connections: the request head is
/// written straight from the exchange (headers by <see cref="UpstreamHeaders"/>), the response head is parsed strictly
/// (<see cref="Http1Parser"/>) into the exchange's response, and the body streams through. It takes only what it can
/// frame exactly: no body or a Content-Length body, no upgrade, no Expect; everything else goes through HttpClient.
/// </summary>
internal sealed class Http1Sender(Http1Pool pool) : UpstreamSender
{
    /// <summary>True when the request can be framed exactly on HTTP/1.1 without help (see the class summary).</summary>
    public override bool CanSend(Exchange exchange)
    {
        var headers = exchange.RequestHeaders;
        return !exchange.RequestBodyUnframed && headers.Upgrade.Count == 0 && headers.Expect.Count == 0 && !HttpMethods.IsConnect(exchange.Method);
    }

    public override ValueTask<SendResult> SendAsync(Exchange exchange, UpstreamAttempt attempt)
    {
        var endpoint = attempt.Backend.Http1Endpoint!;
        // A kept-alive connection goes straight to the exchange (no state machine of its own here); a new one is opened first.
        return (attempt.FreshConnection ? null : endpoint.Rent()) is { } connection
            ? Run(connection, endpoint, exchange, attempt, reused: true)
            : ConnectAndSendAsync(endpoint, exchange, attempt);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SendResult> ConnectAndSendAsync(Http1Endpoint endpoint, Exchange exchange, UpstreamAttempt attempt)
    {
        Http1Connection connection;
        try
        {
            connection = await pool.ConnectAsync(endpoint, exchange.Client.Aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException e)
        {
            return new SendResult(UpstreamFailure.ClientGone, e);
        }
        catch (Exception e)
        {
            return new SendResult(UpstreamFailure.ConnectFailed, e);
        }

        return await Run(connection, endpoint, exchange, attempt, reused: false).ConfigureAwait(false);
    }

    /// <summary>Runs the request on the connection; the exchange gives the connection back (or closes it) when it ends.</summary>
    private static ValueTask<SendResult> Run(Http1Connection connection, Http1Endpoint endpoint, Exchange exchange, UpstreamAttempt attempt, bool reused)
    {
        var run = connection.Run as Http1Exchange ?? (Http1Exchange)(connection.Run = new Http1Exchange(connection));
        run.Begin(endpoint, exchange, attempt);
        return run.RunAsync(reused);
    }

    /// <summary>The gateway will not put this on the wire (nothing has been sent yet).</summary>
    private sealed class UnsendableException(string message) : Exception(message);

    /// <summary>The client's request body failed, or did not arrive within the route's timeout (not the backend).</summary>
    private sealed class ClientBodyException(Exception inner) : Exception("reading the request body failed", inner);

    /// <summary>The client went away while the response was being written, or stopped reading it.</summary>
    private sealed class ClientGoneException() : Exception("the client went away or stopped reading");

    private static HttpRequestException Invalid(string reason) =>
        new(HttpRequestError.InvalidResponse, "The backend sent an invalid response: " + reason + ".");

    /// <summary>One request and response on one connection.</summary>
    private sealed class Http1Exchange(Http1Connection connection)
    {
        private readonly Http1Connection _connection = connection;
        private Exchange _exchange = null!;
        private UpstreamAttempt _attempt = null!;
        private IClientChannel _client = null!;
        private TimeSpan _timeout;
        private Http1Endpoint _endpoint = null!;

        /// <summary>Takes on the next request on this connection (one at a time: the connection is rented for it).</summary>
        public void Begin(Http1Endpoint endpoint, Exchange exchange, UpstreamAttempt attempt)
        {
            _endpoint = endpoint;
            _exchange = exchange;
            _attempt = attempt;
            _client = exchange.Client;
            _timeout = attempt.Timeout;
            Reusable = false;
            NothingReceived = true;
            _heldBack = 0;
        }

        /// <summary>
        /// Lets go of the request, so that an idle pooled connection holds nothing of it, and gives the connection back
        /// (or closes it). The last thing the exchange does: from here another request may take the connection.
        /// </summary>
        private void Release()
        {
            var endpoint = _endpoint;
            var reusable = Reusable;
            _endpoint = null!;
            _exchange = null!;
            _attempt = null!;
            _client = null!;
            if (reusable)
            {
                endpoint.Return(_connection);
            }
            else
            {
                _connection.Dispose();
            }
        }

        /// <summary>The connection may carry another request.</summary>
        public bool Reusable { get; private set; }

        /// <summary>Not one byte of a response arrived.</summary>
        public bool NothingReceived { get; private set; } = true;

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<SendResult> RunAsync(bool reused)
        {
            var cancel = _connection.Cancellation;
            var token = cancel.Token;
            var aborted = _client.Aborted.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), cancel);
            var hasBody = _exchange.RequestContentLength > 0;
            try
            {
                cancel.CancelAfter(_timeout);
                WriteHead();
                Exception? unsent = null;
                if (hasBody)
                {
                    try
                    {
                        await SendBodyAsync(token).ConfigureAwait(false);
                    }
                    catch (IOException e) when (!token.IsCancellationRequested)
                    {
                        // The backend stopped reading the body. It may have answered already (an early 413 or 401):
                        // that answer is what the client should see, so it is looked for before giving up.
                        unsent = e;
                    }
                }
                else
                {
                    await _connection.Writer.FlushAsync(token).ConfigureAwait(false);
                }

                cancel.CancelAfter(_timeout);
                ResponseHead? head;
                try
                {
                    head = await ReadHeadAsync(token).ConfigureAwait(false);
                }
                catch (Exception) when (unsent is not null && !token.IsCancellationRequested)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(unsent);
                    throw;
                }

                if (head is not { } response)
                {
                    // Held back for a retry; the rest of it is not read.
                    return new SendResult(UpstreamFailure.HeldBack, null, _heldBack);
                }

                if (response.Framing is BodyFraming.Chunked or BodyFraming.UntilClose || response.ContentLength > 0)
                {
                    // The response starts before the first body byte is copied: from here a failure cuts the client's
                    // response short instead of leaving body bytes in front of an error document or a retry's answer.
                    await _client.StartResponseAsync(token).ConfigureAwait(false);
                }

                var keepAlive = await CopyBodyAsync(response, token).ConfigureAwait(false);
                // After HEAD, a broken backend may still send the body it described; such a connection is not reused.
                Reusable = unsent is null && keepAlive && NoLeftovers() && !_exchange.IsHead;
                return SendResult.Ok;
            }
            catch (Exception e)
            {
                return Failed(e, reused);
            }
            finally
            {
                aborted.Dispose();
                if (Reusable && !_connection.TryReset())
                {
                    Reusable = false;
                }

                Release();
            }
        }

        private int _heldBack;

        private SendResult Failed(Exception exception, bool reused)
        {
            var clientGone = _client.Aborted.IsCancellationRequested || exception is ClientGoneException;
            var timedOut = !clientGone && _connection.Cancellation.IsCancellationRequested;
            var body = exception as ClientBodyException;
            if (body is not null)
            {
                exception = body.InnerException!;
            }

            UpstreamFailure failure;
            if (!_client.ResponseStarted)
            {
                // Nothing reached the client yet: whatever of the backend's answer was copied goes, so that the
                // gateway's own error (or a retry) starts clean.
                _exchange.ResetResponse();
                failure = clientGone ? UpstreamFailure.ClientGone
                    : exception is UnsendableException ? UpstreamFailure.Unsendable
                    : body is not null ? ClientBodyFailure(exception)
                    : timedOut ? UpstreamFailure.Timeout
                    : reused && NothingReceived ? UpstreamFailure.StaleConnection
                    : exception is HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse } ? UpstreamFailure.InvalidResponse
                    : exception is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } && !NothingReceived ? UpstreamFailure.InvalidResponse
                    : UpstreamFailure.Reset;
            }
            else
            {
                failure = clientGone ? UpstreamFailure.ClientGone : UpstreamFailure.ResponseBodyFailed;
                if (!_client.Aborted.IsCancellationRequested)
                {
                    // The response is cut short: the client must not take it for a complete one.
                    _client.Abort();
                }
            }

            return new SendResult(failure, exception);
        }

        private static UpstreamFailure ClientBodyFailure(Exception exception) => exception switch
        {
            TimeoutException or BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } => UpstreamFailure.ClientBodyTimeout,
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => UpstreamFailure.ClientBodyTooLarge,
            _ => UpstreamFailure.ClientBodyFailed,
        };

        private void WriteHead()
        {
            var shape = _attempt.Route.Shape;
            var backend = _attempt.Backend;
            var writer = _connection.Writer;
            WriteAscii(writer, _exchange.Method);
            writer.Write(" "u8);
            WriteTarget(writer, backend.PathPrefix);
            WriteTarget(writer, shape.Path(_exchange));
            WriteTarget(writer, shape.Query(_exchange));
            writer.Write(" HTTP/1.1\r\n"u8);
            var sink = new HeadSink(writer);
            UpstreamHeaders.Write(_exchange, shape, backend.HostHeader, _exchange.RequestHeaders.Connection, ref sink);
            if (_exchange.RequestContentLength is long length)
            {
                // The framing is the gateway's, from the length Kestrel validated, never a copied header.
                writer.Write("Content-Length: "u8);
                WriteAscii(writer, length.ToString(System.Globalization.CultureInfo.InvariantCulture));
                writer.Write("\r\n"u8);
            }
            else if (HttpMethods.IsPost(_exchange.Method) || HttpMethods.IsPut(_exchange.Method) || HttpMethods.IsPatch(_exchange.Method))
            {
                // A body-carrying method without a body (an HTTP/2 request that ended with its headers): say so, as
                // HTTP clients do, rather than leave a backend to answer 411.
                writer.Write("Content-Length: 0\r\n"u8);
            }

            writer.Write("\r\n"u8);
        }

        private async ValueTask SendBodyAsync(CancellationToken token)
        {
            var body = _client.RequestBody;
            var writer = _connection.Writer;
            var remaining = _exchange.RequestContentLength!.Value;
            while (remaining > 0)
            {
                ReadResult read;
                try
                {
                    read = await body.ReadAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_client.Aborted.IsCancellationRequested)
                {
                    throw new ClientBodyException(new TimeoutException($"The request body did not arrive within {_timeout.TotalSeconds:0.###} s."));
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    throw new ClientBodyException(e);
                }

                remaining = CopyAtMost(body, read, remaining, writer);
                if (remaining > 0 && read.IsCompleted)
                {
                    throw new ClientBodyException(new IOException("The request body ended before its Content-Length."));
                }

                _connection.Cancellation.CancelAfter(_timeout);
                await writer.FlushAsync(token).ConfigureAwait(false);
            }
        }

        /// <summary>Reads the final response head into the client's response; null when it is held back for a retry.</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<ResponseHead?> ReadHeadAsync(CancellationToken token)
        {
            var reader = _connection.Reader;
            var searched = 0;
            byte[]? copy = null;
            var copied = 0;
            try
            {
            while (true)
            {
                var read = await reader.ReadAsync(token).ConfigureAwait(false);
                var buffer = read.Buffer;
                if (buffer.Length > 0)
                {
                    NothingReceived = false;
                }

                // A head split over buffer segments is gathered in one array, each byte copied once.
                ReadOnlySpan<byte> bytes;
                if (copy is null && buffer.IsSingleSegment)
                {
                    bytes = buffer.FirstSpan;
                }
                else
                {
                    copy ??= ArrayPool<byte>.Shared.Rent(Http1Parser.MaxHeadBytes + 4);
                    var available = (int)Math.Min(buffer.Length, Http1Parser.MaxHeadBytes + 4);
                    buffer.Slice(copied, available - copied).CopyTo(copy.AsSpan(copied));
                    copied = available;
                    bytes = copy.AsSpan(0, copied);
                }

                var end = Http1Parser.FindHeadEnd(bytes, ref searched);
                if (end == Http1Parser.BareLineFeed)
                {
                    throw Invalid("a header line ending in a bare LF");
                }

                if (end < 0)
                {
                    if (buffer.Length > Http1Parser.MaxHeadBytes)
                    {
                        throw Invalid("response headers larger than 64 KiB");
                    }

                    if (read.IsCompleted)
                    {
                        throw new HttpRequestException(HttpRequestError.ResponseEnded,
                            buffer.Length == 0 ? "The backend closed the connection without answering." : "The backend closed the connection in the middle of the response headers.");
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                var head = bytes[..end];
                if (!Http1Parser.TryReadStatus(head, out var status, out var http10, out var error))
                {
                    throw Invalid(error!);
                }

                if (status is >= 100 and < 200)
                {
                    if (status == 101)
                    {
                        throw Invalid("an upgrade nobody asked for");
                    }

                    // Interim responses (100 Continue, 103 Early Hints) are not passed on; the search starts over.
                    reader.AdvanceTo(buffer.GetPosition(end));
                    searched = 0;
                    copied = 0;
                    continue;
                }

                if (_attempt.HoldsBack(status))
                {
                    _heldBack = status;
                    return null;
                }

                if (!Http1Parser.TryParseHeaders(head, status, http10, _exchange.IsHead, _client.ResponseHeaders, _connection.Values, out var parsed, out error))
                {
                    _exchange.ResetResponse();
                    throw Invalid(error!);
                }

                reader.AdvanceTo(buffer.GetPosition(end));
                _client.Status = status;
                if (parsed.Framing == BodyFraming.ContentLength
                    || (parsed.Framing == BodyFraming.None && parsed.ContentLength >= 0 && status is not (204 or 304)))
                {
                    _client.ResponseContentLength = parsed.ContentLength;
                }

                _attempt.HeadReceived(status);
                return parsed;
            }
            }
            finally
            {
                if (copy is not null)
                {
                    ArrayPool<byte>.Shared.Return(copy);
                }
            }
        }

        /// <summary>Streams the body to the client; true when the connection can be kept.</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> CopyBodyAsync(ResponseHead head, CancellationToken token)
        {
            var reader = _connection.Reader;
            var output = _client.ResponseBody;
            switch (head.Framing)
            {
                case BodyFraming.None:
                    return head.KeepAlive;
                case BodyFraming.ContentLength:
                    var remaining = head.ContentLength;
                    while (remaining > 0)
                    {
                        _connection.Cancellation.CancelAfter(_timeout);
                        var read = await ReadBodyAsync(reader, output, token).ConfigureAwait(false);
                        remaining = CopyAtMost(reader, read, remaining, output);
                        if (remaining > 0 && read.IsCompleted)
                        {
                            throw new HttpRequestException(HttpRequestError.ResponseEnded, "The backend closed the connection before the end of the response body.");
                        }

                        await FlushAsync(output, token).ConfigureAwait(false);
                    }

                    return head.KeepAlive;
                case BodyFraming.Chunked:
                    var decoder = new ChunkedDecoder();
                    long total = 0;
                    while (!decoder.IsDone)
                    {
                        _connection.Cancellation.CancelAfter(_timeout);
                        var read = await ReadBodyAsync(reader, output, token).ConfigureAwait(false);
                        var consumed = decoder.Decode(read.Buffer, output, out var written, out var error);
                        total += written;
                        if (error is not null)
                        {
                            reader.AdvanceTo(consumed);
                            throw Invalid(error);
                        }

                        if (decoder.IsDone)
                        {
                            // Only what the body used: anything after it must stay visible to the leftover check.
                            reader.AdvanceTo(consumed);
                        }
                        else
                        {
                            reader.AdvanceTo(consumed, read.Buffer.End);
                        }

                        if (!decoder.IsDone && read.IsCompleted)
                        {
                            throw new HttpRequestException(HttpRequestError.ResponseEnded, "The backend closed the connection before the end of the chunked response body.");
                        }

                        if (written > 0)
                        {
                            await FlushAsync(output, token).ConfigureAwait(false);
                        }
                    }

                    _exchange.ResponseBytes = total;
                    return head.KeepAlive;
                default:
                    long count = 0;
                    while (true)
                    {
                        _connection.Cancellation.CancelAfter(_timeout);
                        var read = await ReadBodyAsync(reader, output, token).ConfigureAwait(false);
                        foreach (var segment in read.Buffer)
                        {
                            output.Write(segment.Span);
                        }

                        count += read.Buffer.Length;
                        reader.AdvanceTo(read.Buffer.End);
                        _exchange.ResponseBytes = count;
                        if (read.IsCompleted)
                        {
                            return false;
                        }

                        await FlushAsync(output, token).ConfigureAwait(false);
                    }
            }
        }

        /// <summary>
        /// Reads the next piece of the backend's body. When none is there yet, what the client's response holds (its head,
        /// on a codec that sends the head with the first body bytes) goes out first, so a slow body never delays the head.
        /// </summary>
        private static ValueTask<ReadResult> ReadBodyAsync(PipeReader reader, PipeWriter output, CancellationToken token)
        {
            var pending = reader.ReadAsync(token);
            return pending.IsCompleted ? pending : FlushThenReadAsync(pending, output, token);
        }

        private static async ValueTask<ReadResult> FlushThenReadAsync(ValueTask<ReadResult> pending, PipeWriter output, CancellationToken token)
        {
            await FlushAsync(output, token).ConfigureAwait(false);
            return await pending.ConfigureAwait(false);
        }

        /// <summary>Copies at most <paramref name="remaining"/> bytes of what was read, consumes them, and returns how many are still due.</summary>
        private static long CopyAtMost(PipeReader from, in ReadResult read, long remaining, IBufferWriter<byte> to)
        {
            var buffer = read.Buffer;
            if (buffer.Length > remaining)
            {
                buffer = buffer.Slice(0, remaining);
            }

            foreach (var segment in buffer)
            {
                to.Write(segment.Span);
            }

            // The length is taken before AdvanceTo: after it, the buffer's segments may already be reused.
            var copied = buffer.Length;
            from.AdvanceTo(buffer.End);
            return remaining - copied;
        }

        /// <summary>
        /// Flushes what the client's response holds. A client that does not read for the route's timeout stalls the
        /// flush: that is the client's doing, never counted against the backend.
        /// </summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        private static async ValueTask FlushAsync(PipeWriter output, CancellationToken token)
        {
            FlushResult flushed;
            try
            {
                flushed = await output.FlushAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new ClientGoneException();
            }

            if (flushed.IsCompleted)
            {
                throw new ClientGoneException();
            }
        }

        /// <summary>True when nothing follows the response (anything unasked for makes the connection unusable).</summary>
        private bool NoLeftovers()
        {
            if (!_connection.Reader.TryRead(out var read))
            {
                return true;
            }

            var clean = read.Buffer.IsEmpty && !read.IsCompleted;
            _connection.Reader.AdvanceTo(read.Buffer.Start);
            return clean;
        }
    }

    /// <summary>Writes request headers as HTTP/1.1 lines; values that could split or corrupt the message are refused.</summary>
    private readonly struct HeadSink(PipeWriter writer) : IUpstreamHeaderSink
    {
        public void Add(string name, StringValues values)
        {
            if (name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
            {
                // Written by the gateway from the validated length.
                return;
            }

            WriteAscii(writer, name);
            writer.Write(": "u8);
            var separator = name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) ? "; "u8 : ", "u8;
            for (var i = 0; i < values.Count; i++)
            {
                if (i > 0)
                {
                    writer.Write(separator);
                }

                var value = values[i] ?? "";
                if (!IsFieldText(value))
                {
                    // The limits stage refuses such requests first; this keeps the wire safe whatever a stage added.
                    throw new UnsendableException($"The request header {name} has a value that cannot be sent on HTTP/1.1.");
                }

                WriteUtf8(writer, value);
            }

            writer.Write("\r\n"u8);
        }

        public void Dropped(string name)
        {
        }

        /// <summary>
        /// No control characters (tab aside): nothing that could end the line or the head. Text beyond ASCII goes as
        /// UTF-8, the bytes the client sent (Kestrel decodes header values as UTF-8).
        /// </summary>
        private static bool IsFieldText(string value)
        {
            foreach (var c in value)
            {
                if (c is (< ' ' and not '\t') or '\x7F')
                {
                    return false;
                }
            }

            return true;
        }
    }

    private static void WriteUtf8(PipeWriter writer, string text)
    {
        if (Ascii.IsValid(text))
        {
            WriteAscii(writer, text);
            return;
        }

        var span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        writer.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private static void WriteAscii(PipeWriter writer, string text)
    {
        var span = writer.GetSpan(text.Length);
        var written = Encoding.ASCII.GetBytes(text, span);
        writer.Advance(written);
    }

    /// <summary>Writes part of a request target, percent-encoding (as UTF-8) anything a request line cannot carry.</summary>
    private static void WriteTarget(PipeWriter writer, string text) => WriteAscii(writer, UpstreamTarget.Escape(text));
}
