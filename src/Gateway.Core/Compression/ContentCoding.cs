using System.Buffers;
using System.IO.Compression;
using ZstdSharp;

namespace Gateway.Compression;

/// <summary>
/// A content coding the gateway can apply to a response body: its name on the wire and a streaming encoder. The
/// levels are chosen for speed at a ratio close to the codings' defaults (measured in <c>CompressionBenchmarks</c>),
/// and every coding's window is set explicitly, so one encoder's memory is bounded whatever the body's size (about
/// 0.8 MiB for gzip, 1.1 MiB for brotli, 1.2 MiB for zstd: README, Compression). How many encoders live at once is
/// bounded by <see cref="EncoderBudget"/>.
/// </summary>
internal abstract class ContentCoding
{
    /// <summary>Most preferred first: the coding chosen when a client accepts several with the same weight.</summary>
    public static readonly ContentCoding[] ByPreference = [new Zstd(), new Brotli(), new Gzip()];

    /// <summary>The token in <c>Accept-Encoding</c> and <c>Content-Encoding</c>.</summary>
    public abstract string Name { get; }

    /// <summary>A stream that encodes what is written to it into <paramref name="sink"/>, which it leaves open.</summary>
    public abstract Stream Encoder(Stream sink);

    /// <summary>Whether an <c>Accept-Encoding</c> token names this coding (case-insensitive; aliases included).</summary>
    public virtual bool IsNamed(ReadOnlySpan<char> token) => token.Equals(Name, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Name;

    /// <summary>gzip (RFC 1952) at zlib level 4: about the ratio of level 6 on text at well under its cost (zlib's 32 KiB window).</summary>
    internal sealed class Gzip : ContentCoding
    {
        private static readonly ZLibCompressionOptions Options = new() { CompressionLevel = 4 };

        public override string Name => "gzip";

        // RFC 9110 section 8.4.1.3: a recipient should treat x-gzip as gzip.
        public override bool IsNamed(ReadOnlySpan<char> token) => base.IsNamed(token) || token.Equals("x-gzip", StringComparison.OrdinalIgnoreCase);

        public override Stream Encoder(Stream sink) => new GZipStream(sink, Options, leaveOpen: true);
    }

    /// <summary>
    /// Brotli (RFC 7932) at quality 4 with a 256 KiB window (<see cref="WindowBits"/>): the default window (4 MiB) made
    /// each encoder cost about 5 MiB of native memory, for no gain on the bodies an API sends.
    /// </summary>
    internal sealed class Brotli : ContentCoding
    {
        public const int Quality = 4;

        public const int WindowBits = 18;

        public override string Name => "br";

        public override Stream Encoder(Stream sink) => new BrotliEncoderStream(sink, Quality, WindowBits);
    }

    /// <summary>
    /// Zstandard (RFC 8878) at level 3, its default, with a 256 KiB window and the match tables sized to it (RFC 9659
    /// asks decoders for 8 MiB at most; the default tables for a body of unknown length cost about 2.3 MiB a stream).
    /// </summary>
    internal sealed class Zstd : ContentCoding
    {
        public const int WindowLog = 18;

        public override string Name => "zstd";

        public override Stream Encoder(Stream sink)
        {
            var stream = new CompressionStream(sink, level: 3, bufferSize: 0, leaveOpen: true);
            stream.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_windowLog, WindowLog);
            stream.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_hashLog, 16);
            stream.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_chainLog, 16);
            return stream;
        }
    }

    /// <summary>
    /// A write-only stream over <see cref="BrotliEncoder"/>, which (unlike <see cref="BrotliStream"/>) takes a window
    /// size. Writes encode into a small buffer that goes on to the sink; a flush ends the current block; disposing
    /// writes the last block and frees the native state.
    /// </summary>
    internal sealed class BrotliEncoderStream(Stream sink, int quality, int window) : Stream
    {
        private const int BufferBytes = 16 * 1024;

        private BrotliEncoder _encoder = new(quality, window);
        private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => _buffer is not null;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(BrotliEncoderStream));

        public override void Write(ReadOnlySpan<byte> source)
        {
            var buffer = Buffer;
            while (true)
            {
                var status = _encoder.Compress(source, buffer, out var consumed, out var written, isFinalBlock: false);
                Check(status);
                source = source[consumed..];
                if (written > 0)
                {
                    sink.Write(buffer, 0, written);
                }

                if (status != System.Buffers.OperationStatus.DestinationTooSmall && source.IsEmpty)
                {
                    return;
                }
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            var buffer = Buffer;
            while (true)
            {
                var status = _encoder.Compress(source.Span, buffer, out var consumed, out var written, isFinalBlock: false);
                Check(status);
                source = source[consumed..];
                if (written > 0)
                {
                    await sink.WriteAsync(buffer.AsMemory(0, written), cancellationToken).ConfigureAwait(false);
                }

                if (status != System.Buffers.OperationStatus.DestinationTooSmall && source.IsEmpty)
                {
                    return;
                }
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
            var buffer = Buffer;
            System.Buffers.OperationStatus status;
            do
            {
                status = _encoder.Flush(buffer, out var written);
                Check(status);
                if (written > 0)
                {
                    sink.Write(buffer, 0, written);
                }
            }
            while (status == System.Buffers.OperationStatus.DestinationTooSmall);

            sink.Flush();
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            var buffer = Buffer;
            System.Buffers.OperationStatus status;
            do
            {
                status = _encoder.Flush(buffer, out var written);
                Check(status);
                if (written > 0)
                {
                    await sink.WriteAsync(buffer.AsMemory(0, written), cancellationToken).ConfigureAwait(false);
                }
            }
            while (status == System.Buffers.OperationStatus.DestinationTooSmall);

            await sink.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            if (_buffer is { } buffer)
            {
                try
                {
                    System.Buffers.OperationStatus status;
                    do
                    {
                        status = _encoder.Compress(ReadOnlySpan<byte>.Empty, buffer, out _, out var written, isFinalBlock: true);
                        Check(status);
                        if (written > 0)
                        {
                            await sink.WriteAsync(buffer.AsMemory(0, written)).ConfigureAwait(false);
                        }
                    }
                    while (status == System.Buffers.OperationStatus.DestinationTooSmall);
                }
                finally
                {
                    Release();
                }
            }

            GC.SuppressFinalize(this);
        }

        protected override void Dispose(bool disposing)
        {
            if (_buffer is { } buffer && disposing)
            {
                try
                {
                    System.Buffers.OperationStatus status;
                    do
                    {
                        status = _encoder.Compress(ReadOnlySpan<byte>.Empty, buffer, out _, out var written, isFinalBlock: true);
                        Check(status);
                        if (written > 0)
                        {
                            sink.Write(buffer, 0, written);
                        }
                    }
                    while (status == System.Buffers.OperationStatus.DestinationTooSmall);
                }
                finally
                {
                    Release();
                }
            }

            base.Dispose(disposing);
        }

        private static void Check(System.Buffers.OperationStatus status)
        {
            if (status == System.Buffers.OperationStatus.InvalidData)
            {
                throw new InvalidOperationException("The brotli encoder refused its input.");
            }
        }

        private void Release()
        {
            var buffer = _buffer;
            _buffer = null;
            _encoder.Dispose();
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
