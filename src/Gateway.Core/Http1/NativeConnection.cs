using System.Runtime.CompilerServices;
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Gateway.Forwarding;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Gateway.Http1;

/// <summary>
/// One client connection served by the gateway's own HTTP/1.1 codec, on Kestrel's transport pipes. Requests are read
/// one after another (pipelined ones wait in the input buffer and are answered in order), each one becomes an
/// <see cref="Exchange"/> that the stages run on, and this object is that exchange's <see cref="IClientChannel"/>. A
/// request that asks to switch protocols is handed, unread, to Kestrel's HTTP layer together with the rest of the
/// connection.
/// </summary>
internal sealed class NativeConnection : IClientChannel, IDisposable
{
    /// <summary>Empty lines a client may send before a request line (RFC 9112 section 2.2 asks to allow at least one).</summary>
    private const int MaxLeadingEmptyLines = 8;

    /// <summary>The connection item that marks a connection handed to Kestrel's HTTP layer.</summary>
    public static readonly object HandedOver = new();

    /// <summary>How long a connection closed on an unread body keeps reading before it goes.</summary>
    private static readonly TimeSpan LingerTimeout = TimeSpan.FromSeconds(2);

    private readonly NativeCodec _codec;
    private readonly ConnectionContext _context;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly RequestHead _head = new();
    private readonly HeaderList _responseHeaders = new();
    private readonly RequestBodyReader _body;
    private readonly ResponseBodyWriter _bodyWriter;
    private Stream? _bodyStream;
    private Stream? _filteredStream;
    private PipeWriter? _filteredWriter;
    private CancellationTokenSource _timeout;
    private readonly IPAddress? _peer;
    private readonly ITlsConnectionFeature? _tls;
    private readonly CancellationTokenRegistration _closeRequested;
    private volatile bool _draining;
    private volatile bool _idle;
    private int _status = StatusCodes.Status200OK;
    private bool _headWritten;
    private bool _continueSent;
    private bool _closeAfter;
    private bool _aborted;
    private bool _isHead;
    private bool _linger;

    public NativeConnection(NativeCodec codec, ConnectionContext context)
    {
        _codec = codec;
        _context = context;
        _input = context.Transport.Input;
        _output = context.Transport.Output;
        _body = new RequestBodyReader(this, _input, codec.Time);
        _bodyWriter = new ResponseBodyWriter(this, _output);
        _timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, codec.Time);
        _peer = ClientAddress.Normalize((context.RemoteEndPoint as IPEndPoint)?.Address);
        _tls = context.Features.Get<ITlsConnectionFeature>();
        if (context.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime)
        {
            _closeRequested = lifetime.ConnectionClosedRequested.UnsafeRegister(static state => ((NativeConnection)state!).RequestClose(), this);
        }
    }

    // ---- IClientChannel ----

    public PipeReader RequestBody => _body;

    public CancellationToken Aborted => _context.ConnectionClosed;

    public HttpContext? HttpContext => null;

    public int Status
    {
        get => _status;
        set => _status = value;
    }

    public IHeaderDictionary ResponseHeaders => _responseHeaders;

    public long? ResponseContentLength { get; set; }

    public bool ResponseStarted => _headWritten;

    public PipeWriter ResponseBody => _filteredWriter ?? _bodyWriter;

    public Stream ResponseStream
    {
        get => _filteredStream ?? (_bodyStream ??= _bodyWriter.AsStream(leaveOpen: true));
        set
        {
            if (ReferenceEquals(value, _bodyStream))
            {
                _filteredStream = null;
                _filteredWriter = null;
                return;
            }

            _filteredStream = value;
            _filteredWriter = PipeWriter.Create(value, new StreamPipeWriterOptions(leaveOpen: true));
        }
    }

    public void LimitRequestBody(long max) => _body.Limit(max);

    public Task StartResponseAsync(CancellationToken cancel)
    {
        // The head goes out with the first body bytes (one write); a sender that must wait for them flushes first.
        WriteHeadIfNeeded();
        return Task.CompletedTask;
    }

    public void ClearResponse()
    {
        if (_headWritten)
        {
            return;
        }

        _status = StatusCodes.Status200OK;
        _responseHeaders.Reset();
        ResponseContentLength = null;
    }

    public void Abort()
    {
        _aborted = true;
        _context.Abort(new ConnectionAbortedException("The gateway cut the response short."));
    }

    // ---- The connection loop ----

    /// <summary>Serves requests until the connection ends; true when the rest of it goes to Kestrel's HTTP layer.</summary>
    public async Task<bool> RunAsync()
    {
        var handOver = false;
        try
        {
            handOver = await ServeAllAsync().ConfigureAwait(false);
            return handOver;
        }
        finally
        {
            if (!handOver && _linger)
            {
                await LingerAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> ServeAllAsync()
    {
        try
        {
            for (var first = true; !_context.ConnectionClosed.IsCancellationRequested; first = false)
            {
                var next = await ReadHeadAsync(first).ConfigureAwait(false);
                if (next.Kind == NextKind.HandOver)
                {
                    return true;
                }

                if (next.Kind == NextKind.Refused)
                {
                    await RefuseAsync(next.Error).ConfigureAwait(false);
                    return false;
                }

                if (next.Kind == NextKind.Closed || !await ServeAsync().ConfigureAwait(false))
                {
                    return false;
                }
            }

            return false;
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away, or the gateway cut the connection: nothing is left to answer.
            return false;
        }
    }

    private enum NextKind : byte
    {
        Request,
        Closed,
        Refused,
        HandOver,
    }

    private readonly record struct Next(NextKind Kind, HeadError Error = default);

    /// <summary>Waits for and reads the next request head; the keep-alive timeout applies until its first byte, then the head timeout.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Next> ReadHeadAsync(bool first)
    {
        var limits = _codec.Limits;
        var sawBytes = false;
        var leading = 0;
        var searched = 0;
        _idle = true;
        // Paired with the fence in RequestClose: either this read sees the drain, or the drain sees the connection idle.
        Interlocked.MemoryBarrier();
        ArmTimeout(first ? _codec.HeaderTimeout : _codec.KeepAliveTimeout);
        try
        {
            while (true)
            {
                if (_draining && !sawBytes)
                {
                    return new Next(NextKind.Closed);
                }

                ReadResult read;
                try
                {
                    read = await _input.ReadAsync(_timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_timeout.IsCancellationRequested && !_context.ConnectionClosed.IsCancellationRequested)
                {
                    // Idle past the keep-alive timeout: close quietly. A head that stopped arriving: 408.
                    return sawBytes ? new Next(NextKind.Refused, new HeadError(StatusCodes.Status408RequestTimeout, "The request head did not arrive in time.")) : new Next(NextKind.Closed);
                }

                if (read.IsCanceled)
                {
                    // A drain woke the idle wait.
                    return new Next(NextKind.Closed);
                }

                var buffer = read.Buffer;
                while (buffer.Length >= 2 && StartsWithLineBreak(buffer))
                {
                    buffer = buffer.Slice(2);
                    if (++leading > MaxLeadingEmptyLines)
                    {
                        return new Next(NextKind.Refused, new HeadError(400, "The request starts with too many empty lines."));
                    }
                }

                if (!buffer.IsEmpty && !sawBytes)
                {
                    sawBytes = true;
                    _idle = false;
                    if (!first)
                    {
                        _timeout.CancelAfter(_codec.HeaderTimeout);
                    }
                }

                var found = TryParse(buffer, ref searched, out var headLength, out var error);
                if (found is false)
                {
                    return new Next(NextKind.Refused, error);
                }

                if (found is true)
                {
                    if (_head.Upgrade)
                    {
                        // Nothing of this request is consumed: Kestrel's HTTP layer reads it from the start. It is marked, so
                        // that Kestrel's (looser) parser never reads another request on it unless it switched protocols.
                        _input.AdvanceTo(buffer.Start, buffer.Start);
                        _context.Items[HandedOver] = true;
                        return new Next(NextKind.HandOver);
                    }

                    _input.AdvanceTo(buffer.GetPosition(headLength));
                    return new Next(NextKind.Request);
                }

                if (buffer.Length > limits.MaxRequestLine + limits.MaxHeaderBytes + 4)
                {
                    return new Next(NextKind.Refused, new HeadError(StatusCodes.Status431RequestHeaderFieldsTooLarge, "The request head is too large."));
                }

                if (read.IsCompleted)
                {
                    return new Next(NextKind.Closed);
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            _idle = false;
            _timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Starts the timeout of the next wait (a timeout that fired earlier leaves a spent source behind).</summary>
    private void ArmTimeout(TimeSpan timeout)
    {
        if (!_timeout.TryReset())
        {
            _timeout.Dispose();
            _timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _codec.Time);
        }

        _timeout.CancelAfter(timeout);
    }

    private static bool StartsWithLineBreak(in ReadOnlySequence<byte> buffer)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= 2)
        {
            return first[0] == '\r' && first[1] == '\n';
        }

        Span<byte> two = stackalloc byte[2];
        buffer.Slice(0, 2).CopyTo(two);
        return two[0] == '\r' && two[1] == '\n';
    }

    /// <summary>True: a head was parsed; false: refused (<paramref name="error"/>); null: not complete yet.</summary>
    private bool? TryParse(in ReadOnlySequence<byte> buffer, ref int searched, out int headLength, out HeadError error)
    {
        headLength = 0;
        error = default;
        var limits = _codec.Limits;
        var ceiling = limits.MaxRequestLine + limits.MaxHeaderBytes + 4;
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> bytes;
            if (buffer.IsSingleSegment)
            {
                bytes = buffer.FirstSpan;
            }
            else
            {
                var length = (int)Math.Min(buffer.Length, ceiling);
                rented = ArrayPool<byte>.Shared.Rent(length);
                buffer.Slice(0, length).CopyTo(rented);
                bytes = rented.AsSpan(0, length);
            }

            var end = Forwarding.Http1.Http1Parser.FindHeadEnd(bytes, ref searched);
            if (end == Forwarding.Http1.Http1Parser.BareLineFeed)
            {
                error = new HeadError(400, "A line of the request head ends in a bare LF.");
                return false;
            }

            if (end < 0)
            {
                // A request line longer than allowed is refused as soon as it is, without waiting for its end.
                if (bytes.IndexOf((byte)'\n') < 0 && bytes.Length > limits.MaxRequestLine)
                {
                    error = new HeadError(StatusCodes.Status414UriTooLong, "The request line is too long.");
                    return false;
                }

                return null;
            }

            if (!RequestHeadParser.TryParse(bytes[..end], _head, limits, out error))
            {
                return false;
            }

            headLength = end;
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Runs one request through the stages and finishes its response; true to read the next one.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ServeAsync()
    {
        var head = _head;
        _status = StatusCodes.Status200OK;
        _responseHeaders.Reset();
        ResponseContentLength = null;
        _filteredStream = null;
        _filteredWriter = null;
        _headWritten = false;
        _aborted = false;
        _isHead = HttpMethods.IsHead(head.Method);
        _continueSent = !head.ExpectContinue;
        _closeAfter = !head.KeepAlive;
        _body.Start(head.Framing, head.ContentLength);
        var declared = head.Headers.ContainsKey(HeaderNames.ContentLength) ? head.ContentLength : (long?)null;
        var exchange = new Exchange(this, _codec.Store.Current, _codec.Time, head.Method, head.RawTarget, head.Headers)
        {
            Scheme = _tls is null ? "http" : "https",
            Protocol = head.Http10 ? "HTTP/1.0" : "HTTP/1.1",
            Peer = _peer,
            ClientCertificate = _tls?.ClientCertificate,
            RequestContentLength = declared,
            RequestBodyUnframed = head.Framing == RequestFraming.Chunked,
        };

        await _codec.Runner.RunAsync(exchange).ConfigureAwait(false);
        if (_aborted || _context.ConnectionClosed.IsCancellationRequested)
        {
            return false;
        }

        WriteHeadIfNeeded();
        switch (_bodyWriter.Framing)
        {
            case ResponseFraming.Chunked:
                _output.Write(ResponseBodyWriter.LastChunk);
                break;
            case ResponseFraming.ContentLength when _bodyWriter.Written != _bodyWriter.Declared:
                // Shorter than it said: the client must not take it for complete.
                Abort();
                return false;
        }

        var flushed = await _output.FlushAsync(_context.ConnectionClosed).ConfigureAwait(false);
        if (flushed.IsCompleted || _bodyWriter.Framing == ResponseFraming.UntilClose || _closeAfter || _draining)
        {
            // A client still sending a body the gateway did not read gets a moment to finish before the close.
            _linger = !flushed.IsCompleted && !_body.IsDone;
            return false;
        }

        // What the stages left of the request body is read and dropped, within bounds, so the connection can go on.
        if (_body.IsDone || (_continueSent && await DrainBodyAsync().ConfigureAwait(false)))
        {
            return true;
        }

        _linger = true;
        return false;
    }

    /// <summary>
    /// Closing while the client may still be sending a body: what arrives is read and dropped for a moment after the
    /// response (which said <c>Connection: close</c>), so that the client reads the answer instead of losing it to a
    /// reset caused by unread bytes.
    /// </summary>
    private async Task LingerAsync()
    {
        try
        {
            // The response has been flushed whole; the connection only listens now, and goes when the client is done.
            ArmTimeout(LingerTimeout);
            while (true)
            {
                var read = await _input.ReadAsync(_timeout.Token).ConfigureAwait(false);
                _input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
        {
            // Done lingering.
        }
    }

    private async ValueTask<bool> DrainBodyAsync()
    {
        ArmTimeout(BodyDrain.Timeout);
        try
        {
            while (!_body.IsDone)
            {
                var read = await _body.ReadAsync(_timeout.Token).ConfigureAwait(false);
                var length = read.Buffer.Length;
                _body.AdvanceTo(read.Buffer.End);
                if (_body.BytesRead > BodyDrain.MaxBytes || (length == 0 && !_body.IsDone))
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or BadHttpRequestException or IOException or InvalidOperationException)
        {
            // (InvalidOperationException: a reader of the body left a read open; the rest of the body cannot be told apart.)
            return false;
        }
        finally
        {
            _timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The interim <c>100 Continue</c>, sent the first time a body the client holds back is read.</summary>
    public ValueTask SendContinueAsync(CancellationToken cancel)
    {
        if (_continueSent || _headWritten)
        {
            return ValueTask.CompletedTask;
        }

        _continueSent = true;
        _output.Write("HTTP/1.1 100 Continue\r\n\r\n"u8);
        return FlushIgnoringResultAsync(cancel);
    }

    private async ValueTask FlushIgnoringResultAsync(CancellationToken cancel) => await _output.FlushAsync(cancel).ConfigureAwait(false);

    /// <summary>Writes the response head into the output (not flushed) the first time it is needed, and picks the body's framing.</summary>
    public void WriteHeadIfNeeded()
    {
        if (_headWritten)
        {
            return;
        }

        _headWritten = true;
        var status = _status;
        var noBody = _isHead || status is < 200 or 204 or 304;
        var length = ResponseContentLength;
        ResponseFraming framing;
        if (noBody)
        {
            framing = ResponseFraming.None;
        }
        else if (length is not null)
        {
            framing = ResponseFraming.ContentLength;
        }
        else if (!_head.Http10)
        {
            framing = ResponseFraming.Chunked;
        }
        else
        {
            framing = ResponseFraming.UntilClose;
            _closeAfter = true;
        }

        if (!_body.IsDone && (_body.Failed || _head.Framing == RequestFraming.Chunked || _head.ContentLength - _body.BytesRead > BodyDrain.MaxBytes))
        {
            // The rest of the body will not be read (it broke, or there is too much of it): this is the last response.
            _closeAfter = true;
        }

        if (_head.ExpectContinue && !_continueSent && _head.Framing != RequestFraming.None)
        {
            // The client still holds its body back: it may send it anyway, so this connection cannot carry another request.
            _closeAfter = true;
        }

        if (_draining)
        {
            _closeAfter = true;
        }

        var writer = new HeadWriter(_output);
        writer.StatusLine(status);
        var headers = _responseHeaders;
        for (var i = 0; i < headers.Count; i++)
        {
            var (name, values) = headers.At(i);
            if (IsFramingHeader(name))
            {
                continue;
            }

            foreach (var value in values)
            {
                writer.Header(name, value);
            }
        }

        if (length is long bytes && status is not (204 or < 200))
        {
            writer.ContentLength(bytes);
        }
        else if (framing == ResponseFraming.Chunked)
        {
            writer.Raw("Transfer-Encoding: chunked\r\n"u8);
        }

        if (!headers.ContainsKey(HeaderNames.Date))
        {
            // A backend's own Date stays (RFC 9110 section 6.6.1: only a response without one gets the gateway's).
            writer.Raw(_codec.Date.Current);
        }

        if (_closeAfter)
        {
            writer.Raw("Connection: close\r\n"u8);
        }
        else if (_head.Http10)
        {
            writer.Raw("Connection: keep-alive\r\n"u8);
        }

        writer.Raw("\r\n"u8);
        _bodyWriter.Start(framing, length ?? 0);
    }

    /// <summary>Headers the codec writes itself from the framing it chose; copies from elsewhere never reach the wire.</summary>
    private static bool IsFramingHeader(string name) =>
        name.Length is 10 or 14 or 17 && (name.Equals(HeaderNames.Connection, StringComparison.OrdinalIgnoreCase)
            || name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
            || name.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase))
        || name.Equals(HeaderNames.KeepAlive, StringComparison.OrdinalIgnoreCase);

    /// <summary>Answers a request the codec refused before any stage saw it, and closes.</summary>
    private async ValueTask RefuseAsync(HeadError error)
    {
        var body = Problems.Serialize(error.Status, error.Status switch
        {
            StatusCodes.Status408RequestTimeout => "urn:gateway:problem:request-timeout",
            StatusCodes.Status414UriTooLong => "urn:gateway:problem:uri-too-long",
            StatusCodes.Status431RequestHeaderFieldsTooLarge => "urn:gateway:problem:headers-too-large",
            StatusCodes.Status501NotImplemented => "urn:gateway:problem:transfer-coding",
            StatusCodes.Status505HttpVersionNotsupported => "urn:gateway:problem:http-version",
            _ => "urn:gateway:problem:bad-request",
        }, Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(error.Status), error.Detail, null);
        var writer = new HeadWriter(_output);
        writer.StatusLine(error.Status);
        writer.Header(HeaderNames.ContentType, Problems.ContentType);
        writer.Header(HeaderNames.CacheControl, "no-store");
        writer.ContentLength(body.Length);
        writer.Raw(_codec.Date.Current);
        writer.Raw("Connection: close\r\n\r\n"u8);
        _output.Write(body);
        await _output.FlushAsync(_context.ConnectionClosed).ConfigureAwait(false);
        _codec.Refused(error);
    }

    private void RequestClose()
    {
        _draining = true;
        Interlocked.MemoryBarrier();
        if (_idle)
        {
            // Waiting for a request that has not begun: stop waiting, the connection closes.
            _input.CancelPendingRead();
        }
    }

    public void Dispose()
    {
        _closeRequested.Dispose();
        _timeout.Dispose();
    }

    /// <summary>Writes head lines as bytes into the output.</summary>
    private readonly ref struct HeadWriter(PipeWriter output)
    {
        /// <summary>Always <c>HTTP/1.1</c>, also to an HTTP/1.0 client (RFC 9110 section 6.2: the highest version the server speaks).</summary>
        public void StatusLine(int status)
        {
            Raw("HTTP/1.1 "u8);
            Number(status);
            Raw(" "u8);
            Ascii(Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } reason ? reason : "Unknown");
            Raw("\r\n"u8);
        }

        public void Header(string name, string? value)
        {
            // Defense in depth: a value that could end the line or the head is never written.
            if (value is null || value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            {
                return;
            }

            Ascii(name);
            Raw(": "u8);
            if (System.Text.Ascii.IsValid(value))
            {
                Ascii(value);
            }
            else
            {
                var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length));
                output.Advance(Encoding.UTF8.GetBytes(value, span));
            }

            Raw("\r\n"u8);
        }

        public void ContentLength(long length)
        {
            Raw("Content-Length: "u8);
            Number(length);
            Raw("\r\n"u8);
        }

        public void Raw(ReadOnlySpan<byte> bytes) => output.Write(bytes);

        private void Number(long value)
        {
            var span = output.GetSpan(20);
            value.TryFormat(span, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
            output.Advance(written);
        }

        private void Ascii(string text)
        {
            var span = output.GetSpan(text.Length);
            var written = Encoding.ASCII.GetBytes(text, span);
            output.Advance(written);
        }
    }
}
