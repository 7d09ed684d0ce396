using System.IO.Compression;
using ZstdSharp;

namespace Gateway.Compression;

/// <summary>
/// A content coding the gateway can apply to a response body: its name on the wire and a streaming encoder. The
/// levels are chosen for speed at a ratio close to the codings' defaults (measured in <c>CompressionBenchmarks</c>)
/// and bound each encoder's memory to a few MiB whatever the body's size.
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

    /// <summary>gzip (RFC 1952) at zlib level 4: about the ratio of level 6 on text at well under its cost.</summary>
    internal sealed class Gzip : ContentCoding
    {
        private static readonly ZLibCompressionOptions Options = new() { CompressionLevel = 4 };

        public override string Name => "gzip";

        // RFC 9110 section 8.4.1.3: a recipient should treat x-gzip as gzip.
        public override bool IsNamed(ReadOnlySpan<char> token) => base.IsNamed(token) || token.Equals("x-gzip", StringComparison.OrdinalIgnoreCase);

        public override Stream Encoder(Stream sink) => new GZipStream(sink, Options, leaveOpen: true);
    }

    /// <summary>Brotli (RFC 7932) at quality 4, the default window (4 MiB at most).</summary>
    internal sealed class Brotli : ContentCoding
    {
        private static readonly BrotliCompressionOptions Options = new() { Quality = 4 };

        public override string Name => "br";

        public override Stream Encoder(Stream sink) => new BrotliStream(sink, Options, leaveOpen: true);
    }

    /// <summary>Zstandard (RFC 8878) at level 3, its default, with the window capped at 1 MiB (RFC 9659 asks decoders for 8 MiB at most).</summary>
    internal sealed class Zstd : ContentCoding
    {
        public override string Name => "zstd";

        public override Stream Encoder(Stream sink)
        {
            var stream = new CompressionStream(sink, level: 3, bufferSize: 0, leaveOpen: true);
            stream.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_windowLog, 20);
            return stream;
        }
    }
}
