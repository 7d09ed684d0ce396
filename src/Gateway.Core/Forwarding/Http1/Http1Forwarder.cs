using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding.Http1;

/// <summary>
/// Forwards a request to a plain-HTTP backend over the gateway's own keep-alive HTTP/1.1 connections: the request
/// head is written straight from the client's request (headers by <see cref="UpstreamHeaders"/>), the response head
/// is parsed strictly (<see cref="Http1Parser"/>) into the client's response, and the body streams through. It takes
/// only what it can frame exactly: no body or a Content-Length body, no upgrade, no Expect; everything else goes
/// through YARP. Errors come back as YARP's <see cref="ForwarderError"/> values so that one classification (retry,
/// 502/504, client gone) serves both paths.
/// </summary>
internal static class Http1Forwarder
{
    private static readonly SearchValues<char> PlainTargetChars =
        SearchValues.Create("!$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~");

    /// <summary>True when the request can be framed exactly on HTTP/1.1 without help (see the class summary).</summary>
    public static bool CanSend(HttpRequest request)
    {
        if (request.ContentLength is null && request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false)
        {
            return false;
        }

        var headers = request.Headers;
        return headers.Upgrade.Count == 0 && headers.Expect.Count == 0 && !HttpMethods.IsConnect(request.Method);
    }

    public static async ValueTask<ForwarderError> SendAsync(Http1Pool pool, HttpContext context, GatewayRequestFeature feature, Backend backend, TimeSpan timeout)
    {
        var endpoint = backend.Http1Endpoint ??= pool.For(backend.Url);
        var hasBody = context.Request.ContentLength > 0;
        var replayable = Resilience.RetryPolicy.IsReplayable(context.Request);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var fresh = false;
        while (true)
        {
            var connection = fresh ? null : endpoint.Rent();
            var reused = connection is not null;
            if (connection is null)
            {
                try
                {
                    connection = await pool.ConnectAsync(endpoint, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException e)
                {
                    return Fail(context, ForwarderError.RequestCanceled, e);
                }
                catch (Exception e)
                {
                    return Fail(context, ForwarderError.Request, e);
                }
            }

            var exchange = new Exchange(context, feature, backend, connection, timeout);
            var error = await exchange.RunAsync(hasBody).ConfigureAwait(false);
            if (exchange.Reusable)
            {
                endpoint.Return(connection);
            }
            else
            {
                connection.Dispose();
            }

            // A kept-alive connection the backend closed just as it was reused: the request goes once more on a new
            // connection, like any HTTP client does. Only idempotent requests without a body: the backend may have
            // acted on the first copy before closing.
            if (error == ForwarderError.Request && reused && replayable && exchange.NothingReceived && !fresh)
            {
                // The second try gets what is left of the route's timeout, not a new one.
                var left = timeout - System.Diagnostics.Stopwatch.GetElapsedTime(started);
                if (left > TimeSpan.FromMilliseconds(10))
                {
                    context.Features.Set<IForwarderErrorFeature>(null);
                    timeout = left;
                    fresh = true;
                    continue;
                }
            }

            return error;
        }
    }

    private static ForwarderError Fail(HttpContext context, ForwarderError error, Exception? exception)
    {
        context.Features.Set<IForwarderErrorFeature>(new ErrorFeature(error, exception));
        return error;
    }

    private sealed class ErrorFeature(ForwarderError error, Exception? exception) : IForwarderErrorFeature
    {
        public ForwarderError Error { get; } = error;

        public Exception? Exception { get; } = exception;
    }

    /// <summary>The client's request body failed, or did not arrive within the route's timeout (not the backend).</summary>
    private sealed class ClientBodyException(Exception inner) : Exception("reading the request body failed", inner);

    /// <summary>The client went away while the response was being written.</summary>
    private sealed class ClientGoneException() : Exception("the client went away");

    private static HttpRequestException Invalid(string reason) =>
        new(HttpRequestError.InvalidResponse, "The backend sent an invalid response: " + reason + ".");

    /// <summary>One request and response on one connection.</summary>
    private sealed class Exchange(HttpContext context, GatewayRequestFeature feature, Backend backend, Http1Connection connection, TimeSpan timeout)
    {
        /// <summary>The connection may carry another request.</summary>
        public bool Reusable { get; private set; }

        /// <summary>Not one byte of a response arrived.</summary>
        public bool NothingReceived { get; private set; } = true;

        public async ValueTask<ForwarderError> RunAsync(bool hasBody)
        {
            var cancel = connection.Cancellation;
            var token = cancel.Token;
            var aborted = context.RequestAborted.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), cancel);
            try
            {
                cancel.CancelAfter(timeout);
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
                    await connection.Writer.FlushAsync(token).ConfigureAwait(false);
                }

                cancel.CancelAfter(timeout);
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
                    return ForwarderError.None;
                }

                if (response.Framing is BodyFraming.Chunked or BodyFraming.UntilClose || response.ContentLength > 0)
                {
                    // The response starts before the first body byte is copied: from here a failure cuts the client's
                    // response short instead of leaving body bytes in front of an error document or a retry's answer.
                    await context.Response.StartAsync(token).ConfigureAwait(false);
                }

                var keepAlive = await CopyBodyAsync(response, token).ConfigureAwait(false);
                // After HEAD, a broken backend may still send the body it described; such a connection is not reused.
                Reusable = unsent is null && keepAlive && NoLeftovers() && !HttpMethods.IsHead(context.Request.Method);
                return ForwarderError.None;
            }
            catch (Exception e)
            {
                return Failed(e);
            }
            finally
            {
                aborted.Dispose();
                if (Reusable && !connection.TryReset())
                {
                    Reusable = false;
                }
            }
        }

        private ForwarderError Failed(Exception exception)
        {
            var clientGone = context.RequestAborted.IsCancellationRequested || exception is ClientGoneException;
            var timedOut = !clientGone && connection.Cancellation.IsCancellationRequested;
            ForwarderError error;
            if (!context.Response.HasStarted)
            {
                // Nothing reached the client yet: whatever of the backend's answer was copied goes, so that the
                // gateway's own error (or a retry) starts clean.
                context.Response.Clear();
                error = clientGone ? ForwarderError.RequestCanceled
                    : exception is ClientBodyException ? ForwarderError.RequestBodyClient
                    : timedOut ? ForwarderError.RequestTimedOut
                    : ForwarderError.Request;
            }
            else
            {
                error = clientGone ? ForwarderError.ResponseBodyCanceled : ForwarderError.ResponseBodyDestination;
                if (!clientGone)
                {
                    // The response is cut short: the client must not take it for a complete one.
                    context.Abort();
                }
            }

            return Fail(context, error, exception is ClientBodyException ? exception.InnerException : exception);
        }

        private void WriteHead()
        {
            var request = context.Request;
            var route = feature.Route!;
            var writer = connection.Writer;
            WriteAscii(writer, request.Method);
            writer.Write(" "u8);
            WriteTarget(writer, backend.PathPrefix);
            WriteTarget(writer, route.UpstreamPath(feature.Path));
            WriteTarget(writer, route.Auth is { } policy ? policy.UpstreamQuery(feature.Query) : feature.Query);
            writer.Write(" HTTP/1.1\r\n"u8);
            var facts = new UpstreamRequestFacts(request, request.Headers.Connection, route, feature.Config, ClientAddress.Normalize(context.Connection.RemoteIpAddress),
                feature.HasUnderscoreHeaders, feature.RequestId, feature.Trace, feature.Identity, backend.HostHeader);
            var sink = new HeadSink(writer);
            UpstreamHeaders.Write(facts, ref sink);
            if (request.ContentLength is long length)
            {
                // The framing is the gateway's, from the length Kestrel validated, never a copied header.
                writer.Write("Content-Length: "u8);
                WriteAscii(writer, length.ToString(System.Globalization.CultureInfo.InvariantCulture));
                writer.Write("\r\n"u8);
            }
            else if (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method))
            {
                // A body-carrying method without a body (an HTTP/2 request that ended with its headers): say so, as
                // HTTP clients do, rather than leave a backend to answer 411.
                writer.Write("Content-Length: 0\r\n"u8);
            }

            writer.Write("\r\n"u8);
        }

        private async ValueTask SendBodyAsync(CancellationToken token)
        {
            var body = context.Request.BodyReader;
            var writer = connection.Writer;
            var remaining = context.Request.ContentLength!.Value;
            while (remaining > 0)
            {
                ReadResult read;
                try
                {
                    read = await body.ReadAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
                {
                    throw new ClientBodyException(new TimeoutException($"The request body did not arrive within {timeout.TotalSeconds:0.###} s."));
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

                connection.Cancellation.CancelAfter(timeout);
                await writer.FlushAsync(token).ConfigureAwait(false);
            }
        }

        /// <summary>Reads the final response head into the client's response; null when it is held back for a retry.</summary>
        private async ValueTask<ResponseHead?> ReadHeadAsync(CancellationToken token)
        {
            var reader = connection.Reader;
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

                if (feature.RetryableStatus && status is 502 or 503 or 504)
                {
                    feature.HeldBackStatus = status;
                    return null;
                }

                var response = context.Response;
                if (!Http1Parser.TryParseHeaders(head, status, http10, HttpMethods.IsHead(context.Request.Method), response.Headers, out var parsed, out error))
                {
                    response.Headers.Clear();
                    throw Invalid(error!);
                }

                reader.AdvanceTo(buffer.GetPosition(end));
                response.StatusCode = status;
                if (parsed.Framing == BodyFraming.ContentLength
                    || (parsed.Framing == BodyFraming.None && parsed.ContentLength >= 0 && status is not (204 or 304)))
                {
                    response.ContentLength = parsed.ContentLength;
                }

                response.Headers[RequestIds.HeaderName] = feature.RequestId;
                RateLimiting.RateLimitHeaders.Apply(response.Headers, feature.RateLimit);
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
        private async ValueTask<bool> CopyBodyAsync(ResponseHead head, CancellationToken token)
        {
            var reader = connection.Reader;
            var output = context.Response.BodyWriter;
            switch (head.Framing)
            {
                case BodyFraming.None:
                    return head.KeepAlive;
                case BodyFraming.ContentLength:
                    var remaining = head.ContentLength;
                    while (remaining > 0)
                    {
                        connection.Cancellation.CancelAfter(timeout);
                        var read = await reader.ReadAsync(token).ConfigureAwait(false);
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
                        connection.Cancellation.CancelAfter(timeout);
                        var read = await reader.ReadAsync(token).ConfigureAwait(false);
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

                    feature.ResponseBytes = total;
                    return head.KeepAlive;
                default:
                    long count = 0;
                    while (true)
                    {
                        connection.Cancellation.CancelAfter(timeout);
                        var read = await reader.ReadAsync(token).ConfigureAwait(false);
                        foreach (var segment in read.Buffer)
                        {
                            output.Write(segment.Span);
                        }

                        count += read.Buffer.Length;
                        reader.AdvanceTo(read.Buffer.End);
                        feature.ResponseBytes = count;
                        if (read.IsCompleted)
                        {
                            return false;
                        }

                        await FlushAsync(output, token).ConfigureAwait(false);
                    }
            }
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

        private static async ValueTask FlushAsync(PipeWriter output, CancellationToken token)
        {
            var flushed = await output.FlushAsync(token).ConfigureAwait(false);
            if (flushed.IsCompleted)
            {
                throw new ClientGoneException();
            }
        }

        /// <summary>True when nothing follows the response (anything unasked for makes the connection unusable).</summary>
        private bool NoLeftovers()
        {
            if (!connection.Reader.TryRead(out var read))
            {
                return true;
            }

            var clean = read.Buffer.IsEmpty && !read.IsCompleted;
            connection.Reader.AdvanceTo(read.Buffer.Start);
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
                    throw new HttpRequestException(HttpRequestError.Unknown, $"The request header {name} has a value that cannot be sent on HTTP/1.1.");
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
    private static void WriteTarget(PipeWriter writer, string text)
    {
        if (!text.AsSpan().ContainsAnyExcept(PlainTargetChars))
        {
            WriteAscii(writer, text);
            return;
        }

        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.IsAscii && PlainTargetChars.Contains((char)rune.Value))
            {
                writer.Write([(byte)rune.Value]);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length])
            {
                writer.Write([(byte)'%', Hex(b >> 4), Hex(b & 0xF)]);
            }
        }
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);
}
