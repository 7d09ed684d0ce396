using System.IO.Pipelines;

namespace Gateway.Http1;

/// <summary>How the response body goes on the wire.</summary>
internal enum ResponseFraming : byte
{
    /// <summary>No body may follow (HEAD, 1xx, 204, 304): writes are dropped.</summary>
    None,

    /// <summary>Exactly the declared Content-Length.</summary>
    ContentLength,

    /// <summary>Chunked transfer coding (HTTP/1.1, length unknown).</summary>
    Chunked,

    /// <summary>Until the connection closes (HTTP/1.0, length unknown).</summary>
    UntilClose,
}

/// <summary>
/// The response body of the current exchange, written into the connection's output. The first write or flush sends
/// the head in front of it (one write for head and first data). Chunked bodies are framed in place: every span handed
/// out has room reserved for its chunk header (eight hex digits, which RFC 9112 allows with leading zeros) and CRLF,
/// so no byte is copied twice.
/// </summary>
internal sealed class ResponseBodyWriter(NativeConnection connection, PipeWriter output) : PipeWriter
{
    private const int ChunkPrefix = 10;
    private const int ChunkSuffix = 2;

    private byte[]? _scratch;
    private Memory<byte> _lease;
    private bool _leased;
    private long _written;
    private bool _completed;

    public ResponseFraming Framing { get; private set; }

    /// <summary>The declared length (ContentLength framing).</summary>
    public long Declared { get; private set; }

    /// <summary>Body bytes written so far.</summary>
    public long Written => _written;

    public void Start(ResponseFraming framing, long declared)
    {
        Framing = framing;
        Declared = declared;
        _written = 0;
        _leased = false;
        _completed = false;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        connection.WriteHeadIfNeeded();
        if (Framing != ResponseFraming.Chunked)
        {
            if (Framing == ResponseFraming.None)
            {
                // Bytes written to a response that cannot have a body are dropped.
                if (_scratch is null || _scratch.Length < sizeHint)
                {
                    _scratch = new byte[Math.Max(sizeHint, 4096)];
                }

                return _scratch;
            }

            return output.GetMemory(sizeHint);
        }

        _lease = output.GetMemory(Math.Max(sizeHint, 256) + ChunkPrefix + ChunkSuffix);
        _leased = true;
        return _lease[ChunkPrefix..^ChunkSuffix];
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (bytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        switch (Framing)
        {
            case ResponseFraming.None:
                return;
            case ResponseFraming.ContentLength:
                if (_written + bytes > Declared)
                {
                    throw new InvalidOperationException($"The response body is longer than its Content-Length ({Declared}).");
                }

                output.Advance(bytes);
                break;
            case ResponseFraming.Chunked:
                if (!_leased)
                {
                    throw new InvalidOperationException("Advance without GetMemory.");
                }

                _leased = false;
                if (bytes == 0)
                {
                    return;
                }

                var span = _lease.Span;
                WriteChunkSize(span, bytes);
                span[ChunkPrefix + bytes] = (byte)'\r';
                span[ChunkPrefix + bytes + 1] = (byte)'\n';
                output.Advance(ChunkPrefix + bytes + ChunkSuffix);
                break;
            default:
                output.Advance(bytes);
                break;
        }

        _written += bytes;
    }

    public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        connection.WriteHeadIfNeeded();
        var result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override void CancelPendingFlush() => output.CancelPendingFlush();

    /// <summary>The writer of the body is done; the connection finishes the framing itself.</summary>
    public override void Complete(Exception? exception = null) => _completed = true;

    public bool IsCompleted => _completed;

    /// <summary>The bytes that end a chunked body (no trailers).</summary>
    public static ReadOnlySpan<byte> LastChunk => "0\r\n\r\n"u8;

    private static void WriteChunkSize(Span<byte> span, int size)
    {
        for (var i = 7; i >= 0; i--)
        {
            var nibble = size & 0xF;
            span[i] = (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
            size >>= 4;
        }

        span[8] = (byte)'\r';
        span[9] = (byte)'\n';
    }
}
