using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace Gateway.Http1;

/// <summary>
/// The body of the current request, read straight from the connection: a Content-Length body is a window on the
/// connection's buffer, and a chunked body is handed out one chunk's data at a time with the framing consumed in
/// between, so no byte is copied. Chunked framing is read strictly: hex sizes only, bounded extensions and trailers,
/// CRLF everywhere. The first read of a request that asked for <c>Expect: 100-continue</c> sends the interim answer.
/// A body must keep arriving at <see cref="MinBytesPerSecond"/> or more (counting only the time spent waiting for it,
/// after a grace period), as on Kestrel's path: a client trickling bytes cannot hold a connection and a backend's.
/// </summary>
internal sealed class RequestBodyReader(NativeConnection connection, PipeReader input, TimeProvider time) : PipeReader
{
    /// <summary>The slowest a body may arrive, in bytes per second of waiting for it (Kestrel's default too).</summary>
    public const double MinBytesPerSecond = 240;

    /// <summary>Waiting for the body this long is allowed whatever the rate.</summary>
    public static readonly TimeSpan RateGrace = TimeSpan.FromSeconds(5);

    /// <summary>Most bytes of one chunk-size line (size and extensions).</summary>
    private const int MaxChunkLine = 1024;

    /// <summary>Most bytes of trailer lines after the last chunk (they are read and dropped).</summary>
    private const int MaxTrailerBytes = 16 * 1024;

    private enum State : byte
    {
        Size,
        Data,
        DataEnd,
        Trailers,
        Done,
    }

    private RequestFraming _framing;
    private long _remaining;
    private State _state;
    private long _read;
    private long _limit = long.MaxValue;
    private int _trailerBytes;
    private bool _completed;
    private ReadOnlySequence<byte> _handedOut;
    private TimeSpan _waited;

    /// <summary>The whole body has been read (the connection is at the next request).</summary>
    public bool IsDone => _framing == RequestFraming.None || _state == State.Done;

    /// <summary>Reading the body failed (malformed, too large, ended early): the connection cannot go on.</summary>
    public bool Failed { get; private set; }

    /// <summary>Body bytes handed out so far.</summary>
    public long BytesRead => _read;

    public void Start(RequestFraming framing, long contentLength)
    {
        _framing = framing;
        _remaining = framing == RequestFraming.ContentLength ? contentLength : 0;
        _state = framing == RequestFraming.None ? State.Done : framing == RequestFraming.Chunked ? State.Size : State.Data;
        _read = 0;
        _limit = long.MaxValue;
        _trailerBytes = 0;
        _completed = false;
        _handedOut = default;
        _waited = TimeSpan.Zero;
        Failed = false;
    }

    /// <summary>A body without a length is cut off past this many bytes (413).</summary>
    public void Limit(long max) => _limit = max;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await ReadBodyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException)
        {
            // (A canceled read consumed nothing: the body is where it was, and the rest can still be read or dropped.)
            Failed = true;
            throw;
        }
    }

    private async ValueTask<ReadResult> ReadBodyAsync(CancellationToken cancellationToken)
    {
        if (_completed || _state == State.Done)
        {
            return new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);
        }

        await connection.SendContinueAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var pending = input.ReadAsync(cancellationToken);
            ReadResult read;
            if (pending.IsCompleted)
            {
                read = pending.Result;
            }
            else
            {
                var started = time.GetTimestamp();
                read = await pending.ConfigureAwait(false);
                _waited += time.GetElapsedTime(started);
                if (_waited > RateGrace && _read + read.Buffer.Length < MinBytesPerSecond * _waited.TotalSeconds)
                {
                    input.AdvanceTo(read.Buffer.Start);
                    throw new BadHttpRequestException("The request body is arriving too slowly.", StatusCodes.Status408RequestTimeout);
                }
            }

            if (read.IsCanceled)
            {
                return new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: true, isCompleted: false);
            }

            var buffer = read.Buffer;
            if (_framing == RequestFraming.ContentLength)
            {
                if (buffer.IsEmpty && read.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start);
                    throw new BadHttpRequestException("The request body ended before its Content-Length.", StatusCodes.Status400BadRequest);
                }

                var window = buffer.Length > _remaining ? buffer.Slice(0, _remaining) : buffer;
                _handedOut = window;
                return new ReadResult(window, isCanceled: false, isCompleted: window.Length == _remaining);
            }

            // Chunked: walk the framing until some data can be handed out (or the body ends).
            var position = Frame(ref buffer);
            if (_state == State.Done)
            {
                input.AdvanceTo(position);
                _handedOut = default;
                return new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);
            }

            if (_state == State.Data && !buffer.IsEmpty)
            {
                // The framing before the data is consumed with the caller's AdvanceTo (one per read, as pipes want).
                var data = buffer.Length > _remaining ? buffer.Slice(0, _remaining) : buffer;
                if (_read + data.Length > _limit)
                {
                    throw new BadHttpRequestException("The request body is larger than this route accepts.", StatusCodes.Status413PayloadTooLarge);
                }

                _handedOut = data;
                return new ReadResult(data, isCanceled: false, isCompleted: false);
            }

            if (read.IsCompleted)
            {
                throw new BadHttpRequestException("The request body ended in the middle of its chunked framing.", StatusCodes.Status400BadRequest);
            }

            // Framing incomplete: everything from here on is needed again.
            input.AdvanceTo(position, read.Buffer.End);
        }
    }

    /// <summary>
    /// Consumes chunk framing from the front of <paramref name="buffer"/>; leaves <paramref name="buffer"/> at the data
    /// of the current chunk (or empty) and returns the position up to which the framing was consumed.
    /// </summary>
    private SequencePosition Frame(ref ReadOnlySequence<byte> buffer)
    {
        while (true)
        {
            switch (_state)
            {
                case State.Data:
                    return buffer.Start;
                case State.Size:
                    {
                        var reader = new SequenceReader<byte>(buffer);
                        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
                        {
                            if (buffer.Length > MaxChunkLine)
                            {
                                throw Malformed("a chunk size line is too long");
                            }

                            return buffer.Start;
                        }

                        _remaining = ParseSize(line);
                        buffer = buffer.Slice(reader.Position);
                        _state = _remaining == 0 ? State.Trailers : State.Data;
                        if (_state == State.Data)
                        {
                            return buffer.Start;
                        }

                        break;
                    }

                case State.DataEnd:
                    if (buffer.Length < 2)
                    {
                        return buffer.Start;
                    }

                    var crlf = new SequenceReader<byte>(buffer);
                    if (!crlf.IsNext("\r\n"u8, advancePast: false))
                    {
                        throw Malformed("chunk data is not followed by CRLF");
                    }

                    buffer = buffer.Slice(2);
                    _state = State.Size;
                    break;
                case State.Trailers:
                    {
                        var reader = new SequenceReader<byte>(buffer);
                        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
                        {
                            if (_trailerBytes + buffer.Length > MaxTrailerBytes)
                            {
                                throw Malformed("the trailers are too large");
                            }

                            return buffer.Start;
                        }

                        _trailerBytes += (int)line.Length + 1;
                        if (_trailerBytes > MaxTrailerBytes)
                        {
                            throw Malformed("the trailers are too large");
                        }

                        if (line.Length == 0 || line.Slice(line.Length - 1).FirstSpan[0] != '\r')
                        {
                            throw Malformed("a trailer line does not end in CRLF");
                        }

                        buffer = buffer.Slice(reader.Position);
                        if (line.Length == 1)
                        {
                            _state = State.Done;
                            return buffer.Start;
                        }

                        // Trailers are dropped, but only well-formed ones: a line a server would read differently is refused.
                        var field = line.Slice(0, line.Length - 1);
                        if (!RequestHeadParser.IsWellFormedField(field.IsSingleSegment ? field.FirstSpan : field.ToArray()))
                        {
                            throw Malformed("a trailer line is not 'name: value'");
                        }

                        break;
                    }

                default:
                    return buffer.Start;
            }
        }
    }

    /// <summary>The size of a chunk line (<c>1a;name=value\r</c> without its LF): hex digits, then extensions.</summary>
    private static long ParseSize(ReadOnlySequence<byte> line)
    {
        if (line.Length > MaxChunkLine)
        {
            throw Malformed("a chunk size line is too long");
        }

        Span<byte> bytes = stackalloc byte[(int)line.Length];
        line.CopyTo(bytes);
        if (bytes.Length == 0 || bytes[^1] != '\r')
        {
            throw Malformed("a chunk size line does not end in CRLF");
        }

        bytes = bytes[..^1];
        long size = 0;
        var digits = 0;
        foreach (var b in bytes)
        {
            var value = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (value < 0)
            {
                break;
            }

            if (++digits > 15)
            {
                throw Malformed("a chunk size is too large");
            }

            size = (size * 16) + value;
        }

        if (digits == 0)
        {
            throw Malformed("a chunk size is not hexadecimal");
        }

        var rest = bytes[digits..];
        if (rest.Length > 0 && (rest[0] != ';' || rest.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0))
        {
            throw Malformed("a chunk size is followed by something other than an extension");
        }

        return size;
    }

    private static BadHttpRequestException Malformed(string reason) =>
        new("The request body's chunked framing is malformed: " + reason + ".", StatusCodes.Status400BadRequest);

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_handedOut.IsEmpty)
        {
            // Nothing is out (an empty result at the end of the body): the connection was advanced already.
            return;
        }

        var used = _handedOut.Slice(0, consumed).Length;
        _read += used;
        _remaining -= used;
        if (_remaining == 0)
        {
            _state = _framing == RequestFraming.ContentLength ? State.Done : State.DataEnd;
        }

        _handedOut = default;
        input.AdvanceTo(consumed, examined);
    }

    public override bool TryRead(out ReadResult result)
    {
        // Reads always go through ReadAsync (the body is not buffered apart from the connection).
        result = default;
        return false;
    }

    public override void CancelPendingRead() => input.CancelPendingRead();

    /// <summary>A reader of the body says it is done; the connection drains what it left.</summary>
    public override void Complete(Exception? exception = null) => _completed = true;
}
