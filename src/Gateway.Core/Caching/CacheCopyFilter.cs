using Gateway.Pipeline;

namespace Gateway.Caching;

/// <summary>
/// Keeps a copy of a response body as it streams to the client, up to a bound: the client gets every byte as it
/// arrives, and the cache gets the whole body only once it has ended as sent. A body past the entry bound, or one for
/// which the store has no room among the copies in flight, is let go (the response passes through uncached). The room
/// taken is given back by <see cref="Release"/> once the body is stored or dropped.
/// </summary>
internal sealed class CacheCopyFilter(ResponseCacheStore store, long maxBytes, long? declaredLength) : ResponseBodyFilter
{
    private MemoryStream? _copy;
    private long _reserved;
    private bool _dropped;

    /// <summary>The body, when it ended whole within the bound; null otherwise.</summary>
    public byte[]? Body { get; private set; }

    public override Stream Wrap(Stream next) => new CopyStream(this, next);

    public override ValueTask CompleteAsync(CancellationToken cancel)
    {
        Body = _dropped ? null : _copy?.ToArray() ?? [];
        _copy = null;
        return ValueTask.CompletedTask;
    }

    public override void Discard() => Drop();

    /// <summary>Gives back the room the copy took in the store's in-flight bound (once; safe to call again).</summary>
    public void Release()
    {
        var reserved = Interlocked.Exchange(ref _reserved, 0);
        if (reserved > 0)
        {
            store.Release(reserved);
        }
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || _dropped)
        {
            return;
        }

        var needed = (_copy?.Length ?? 0) + bytes.Length;
        if (needed > _reserved)
        {
            // Room for the declared length at once (one buffer, no regrowth), or for what came.
            var room = _copy is null && declaredLength is long declared && declared >= needed && declared <= maxBytes ? declared : needed;
            if (room > maxBytes || !store.TryReserve(room - _reserved))
            {
                Drop();
                return;
            }

            _reserved = room;
        }

        _copy ??= new MemoryStream((int)_reserved);
        _copy.Write(bytes);
    }

    /// <summary>Stops copying for good (the response passes through uncached) and gives the room back.</summary>
    private void Drop()
    {
        _dropped = true;
        _copy = null;
        Body = null;
        Release();
    }

    /// <summary>Every byte goes on to the client as it comes, and into the copy while there is one.</summary>
    private sealed class CopyStream(CacheCopyFilter filter, Stream next) : WriteOnlyStream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            filter.Keep(buffer);
            next.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            filter.Keep(buffer.Span);
            return next.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush() => next.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => next.FlushAsync(cancellationToken);
    }
}
