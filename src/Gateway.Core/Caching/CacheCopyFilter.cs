using Gateway.Pipeline;

namespace Gateway.Caching;

/// <summary>
/// Keeps a copy of a response body as it streams to the client, up to a bound: the client gets every byte as it
/// arrives, and the cache gets the whole body only once it has ended as sent. A body past the bound is let go (the
/// response passes through uncached).
/// </summary>
internal sealed class CacheCopyFilter(long maxBytes) : ResponseBodyFilter
{
    private MemoryStream? _copy = new();

    /// <summary>The body, when it ended whole within the bound; null otherwise.</summary>
    public byte[]? Body { get; private set; }

    public override Stream Wrap(Stream next) => new CopyStream(this, next);

    public override ValueTask CompleteAsync(CancellationToken cancel)
    {
        Body = _copy?.ToArray();
        _copy = null;
        return ValueTask.CompletedTask;
    }

    public override void Discard()
    {
        _copy = null;
        Body = null;
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (_copy is null)
        {
            return;
        }

        if (_copy.Length + bytes.Length > maxBytes)
        {
            _copy = null;
            return;
        }

        _copy.Write(bytes);
    }

    private sealed class CopyStream(CacheCopyFilter filter, Stream next) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            filter.Keep(buffer);
            next.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            filter.Keep(buffer.Span);
            return next.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush() => next.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => next.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
