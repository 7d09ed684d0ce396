namespace Gateway.Forwarding;

/// <summary>Passes bytes through and counts them (bodies whose size no Content-Length tells).</summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    public long Count { get; private set; }

    /// <summary>A read found the end of the stream.</summary>
    public bool Ended { get; private set; }

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count)
    {
        return Counted(inner.Read(buffer, offset, count), count == 0);
    }

    /// <summary>The read still under way, if one is (a reader that gave up on it may have left it running).</summary>
    public Task<int>? PendingRead => _pending is { IsCompleted: false } pending ? pending : null;

    private Task<int>? _pending;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(buffer, cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            return new ValueTask<int>(Counted(read.Result, buffer.IsEmpty));
        }

        var pending = CountAsync(read, buffer.IsEmpty);
        _pending = pending;
        return new ValueTask<int>(pending);
    }

    private async Task<int> CountAsync(ValueTask<int> read, bool empty) => Counted(await read.ConfigureAwait(false), empty);

    private int Counted(int read, bool empty)
    {
        Count += read;
        Ended |= read == 0 && !empty;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        inner.Write(buffer, offset, count);
        Count += count;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Count += buffer.Length;
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
