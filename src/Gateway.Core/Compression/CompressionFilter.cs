using Gateway.Pipeline;

namespace Gateway.Compression;

/// <summary>
/// Encodes one response body as it passes: bytes are encoded as the sender writes them, and a sender's flush (one per
/// read from the backend) flushes the encoder too, so a streamed body keeps streaming. The encoded bytes go on to the
/// client as the encoder emits them. The encoder's last block is written only when the body ended whole; a body cut
/// short is discarded without it, so no client can take a truncated body for a complete one. The place in the
/// <see cref="EncoderBudget"/> that the response side took for it is given back once the body is complete or discarded.
/// </summary>
internal sealed class CompressionFilter(Exchange exchange, ContentCoding coding, EncoderBudget? budget = null) : ResponseBodyFilter
{
    private Sink? _sink;
    private Stream? _encoder;
    private EncoderBudget? _budget = budget;

    public ContentCoding Coding => coding;

    public override Stream Wrap(Stream next)
    {
        _sink = new Sink(next);
        _encoder = coding.Encoder(_sink);
        return new Front(this);
    }

    public override async ValueTask CompleteAsync(CancellationToken cancel)
    {
        if (_encoder is not { } encoder)
        {
            ReturnBudget();
            return;
        }

        _encoder = null;
        try
        {
            await encoder.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            ReturnBudget();
        }

        await _sink!.FlushAsync(cancel).ConfigureAwait(false);
        exchange.ResponseBytes = _sink.Written;
        _sink.Dispose();
    }

    public override void Discard()
    {
        ReturnBudget();
        if (_sink is not { } sink)
        {
            return;
        }

        sink.Dropped = true;
        exchange.ResponseBytes = sink.Written;
        if (_encoder is { } encoder)
        {
            _encoder = null;
            try
            {
                // Frees the encoder's native state; whatever it still writes goes nowhere.
                encoder.Dispose();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    private void ReturnBudget() => Interlocked.Exchange(ref _budget, null)?.Return();

    /// <summary>What the sender writes to: the encoder's input.</summary>
    private sealed class Front(CompressionFilter filter) : WriteOnlyStream
    {
        private bool _pending;

        private Stream Encoder => filter._encoder ?? throw new ObjectDisposedException(nameof(CompressionFilter), "The response body is complete.");

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return;
            }

            _pending = true;
            Encoder.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return ValueTask.CompletedTask;
            }

            _pending = true;
            return Encoder.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush()
        {
            if (_pending)
            {
                _pending = false;
                Encoder.Flush();
                return;
            }

            filter._sink!.Flush();
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            // A flush with nothing new written (a sender pushing out the head before it waits for the backend) must not
            // cost an empty encoder block, but still goes through: the head must not wait for the body.
            if (_pending)
            {
                _pending = false;
                return Encoder.FlushAsync(cancellationToken);
            }

            return filter._sink!.FlushAsync(cancellationToken);
        }

    }

    /// <summary>
    /// Where the encoder writes: on to the client, counted; nowhere once the body is discarded. An encoder that writes
    /// synchronously (some do when they finish) has its bytes held until the next asynchronous write or flush, since the
    /// client's stream may refuse synchronous writes (Kestrel does).
    /// </summary>
    private sealed class Sink(Stream next) : WriteOnlyStream
    {
        private byte[]? _held;
        private int _heldBytes;

        public bool Dropped
        {
            get;
            set
            {
                field = value;
                Release();
            }
        }

        public long Written { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Dropped || buffer.IsEmpty)
            {
                return;
            }

            if (_held is null || _held.Length - _heldBytes < buffer.Length)
            {
                var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(_heldBytes + buffer.Length, 4096));
                _held?.AsSpan(0, _heldBytes).CopyTo(larger);
                Release();
                _held = larger;
            }

            buffer.CopyTo(_held.AsSpan(_heldBytes));
            _heldBytes += buffer.Length;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Dropped || buffer.IsEmpty)
            {
                return;
            }

            await WriteHeldAsync(cancellationToken).ConfigureAwait(false);
            await next.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            Written += buffer.Length;
        }

        public override void Flush()
        {
            if (Dropped)
            {
                return;
            }

            if (_heldBytes > 0)
            {
                next.Write(_held.AsSpan(0, _heldBytes));
                Written += _heldBytes;
                _heldBytes = 0;
            }

            next.Flush();
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (Dropped)
            {
                return;
            }

            await WriteHeldAsync(cancellationToken).ConfigureAwait(false);
            await next.FlushAsync(cancellationToken).ConfigureAwait(false);
        }


        protected override void Dispose(bool disposing)
        {
            Release();
            base.Dispose(disposing);
        }

        private async ValueTask WriteHeldAsync(CancellationToken cancel)
        {
            if (_heldBytes == 0)
            {
                return;
            }

            var count = _heldBytes;
            _heldBytes = 0;
            await next.WriteAsync(_held.AsMemory(0, count), cancel).ConfigureAwait(false);
            Written += count;
        }

        private void Release()
        {
            if (_held is { } held)
            {
                _held = null;
                _heldBytes = 0;
                System.Buffers.ArrayPool<byte>.Shared.Return(held);
            }
        }
    }
}
