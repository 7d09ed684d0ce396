using System.Buffers;
using System.Text;

namespace Gateway.Routing;

/// <summary>Why a request path was refused before routing.</summary>
internal enum PathError
{
    None,
    InvalidCharacter,
    InvalidPercentEncoding,
    EncodedNul,
    DotSegmentWithParameters,
    UnsupportedTarget,
}

/// <summary>The result of normalizing a request target.</summary>
internal readonly record struct NormalizedTarget(string Path, string Query, bool HasEncodedSlash, PathError Error)
{
    public bool IsValid => Error == PathError.None;
}

/// <summary>
/// Normalizes request paths before matching (RFC 3986 section 6): percent-encodings of unreserved
/// characters are decoded and the rest upper-cased, dot segments (also encoded ones) are removed without
/// climbing above the root, and repeated slashes are merged. The backend receives exactly this path.
/// </summary>
internal static class PathNormalizer
{
    // pchar minus '%' (handled separately) plus '/' as the separator: the characters that need no work.
    private static readonly SearchValues<char> PlainPathChars =
        SearchValues.Create("!$&'()*+,-./0123456789:;=@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~");

    // Characters RFC 3986 does not allow in a path but clients send anyway: kept, percent-encoded.
    private static readonly SearchValues<char> EncodeOnTheWay = SearchValues.Create("[]{}|^`");

    /// <summary>Splits and normalizes a raw request target (origin form or absolute form).</summary>
    public static NormalizedTarget NormalizeTarget(string rawTarget)
    {
        var start = 0;
        if (rawTarget.Length == 0 || rawTarget[0] != '/')
        {
            var scheme = rawTarget.IndexOf("://", StringComparison.Ordinal);
            if (scheme <= 0 || !(rawTarget.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || rawTarget.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                return new NormalizedTarget("/", "", false, PathError.UnsupportedTarget);
            }

            var pathStart = rawTarget.AsSpan(scheme + 3).IndexOfAny('/', '?');
            if (pathStart < 0)
            {
                return new NormalizedTarget("/", "", false, PathError.None);
            }

            start = scheme + 3 + pathStart;
            if (rawTarget[start] == '?')
            {
                return new NormalizedTarget("/", rawTarget[start..], false, PathError.None);
            }
        }

        var queryIndex = rawTarget.IndexOf('?', start);
        // A fragment is never part of a request target (RFC 9112 section 3.2); senders would drop or encode it
        // differently, so it is refused wherever it stands.
        var fragment = rawTarget.IndexOf('#', start);
        if (fragment >= 0)
        {
            return new NormalizedTarget("/", "", false, PathError.InvalidCharacter);
        }

        var pathSpan = queryIndex < 0 ? rawTarget.AsSpan(start) : rawTarget.AsSpan(start, queryIndex - start);
        var query = queryIndex < 0 ? "" : rawTarget[queryIndex..];
        if (IsAlreadyNormal(pathSpan))
        {
            var path = start == 0 && queryIndex < 0 ? rawTarget : pathSpan.ToString();
            return new NormalizedTarget(path, query, false, PathError.None);
        }

        var error = Normalize(pathSpan, out var normalized, out var encodedSlash);
        return new NormalizedTarget(normalized, query, encodedSlash, error);
    }

    /// <summary>True when the path needs no decoding, no dot-segment removal and no slash merging.</summary>
    public static bool IsAlreadyNormal(ReadOnlySpan<char> path)
    {
        if (path.Length == 0 || path[0] != '/' || path.ContainsAnyExcept(PlainPathChars))
        {
            return false;
        }

        // Any "//", "/." (dot segment candidates) sends the path through the full algorithm.
        for (var i = 0; i < path.Length - 1; i++)
        {
            if (path[i] == '/' && (path[i + 1] == '/' || path[i + 1] == '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Normalizes a path (which must start with '/' to be valid).</summary>
    public static PathError Normalize(ReadOnlySpan<char> path, out string normalized, out bool hasEncodedSlash)
    {
        normalized = "/";
        hasEncodedSlash = false;
        if (path.Length == 0)
        {
            return PathError.None;
        }

        if (path[0] != '/')
        {
            return PathError.UnsupportedTarget;
        }

        // Segments are decoded one by one, then appended or popped.
        var output = new StringBuilder(path.Length);
        var segment = new StringBuilder();
        var position = 1;
        var endsWithSlash = false;
        while (position <= path.Length)
        {
            var end = path[position..].IndexOf('/');
            var raw = end < 0 ? path[position..] : path.Slice(position, end);
            var isLast = end < 0;
            position = isLast ? path.Length + 1 : position + end + 1;

            segment.Clear();
            var error = DecodeSegment(raw, segment, ref hasEncodedSlash);
            if (error != PathError.None)
            {
                return error;
            }

            var text = segment.ToString();
            if (text.Length == 0)
            {
                // "//" collapses; a trailing empty segment keeps the trailing slash.
                endsWithSlash = isLast;
                continue;
            }

            if (IsDotSegmentWithParameters(text))
            {
                return PathError.DotSegmentWithParameters;
            }

            if (text == ".")
            {
                endsWithSlash = true;
                continue;
            }

            if (text == "..")
            {
                var cut = output.Length - 1;
                while (cut >= 0 && output[cut] != '/')
                {
                    cut--;
                }

                output.Length = Math.Max(cut, 0);
                endsWithSlash = true;
                continue;
            }

            output.Append('/').Append(text);
            endsWithSlash = false;
        }

        if (endsWithSlash || output.Length == 0)
        {
            output.Append('/');
        }

        normalized = output.ToString();
        return HasValidUtf8(normalized) ? PathError.None : PathError.InvalidPercentEncoding;
    }

    private static PathError DecodeSegment(ReadOnlySpan<char> raw, StringBuilder segment, ref bool hasEncodedSlash)
    {
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '%')
            {
                if (i + 2 >= raw.Length || !char.IsAsciiHexDigit(raw[i + 1]) || !char.IsAsciiHexDigit(raw[i + 2]))
                {
                    return PathError.InvalidPercentEncoding;
                }

                var value = (HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]);
                i += 2;
                if (value == 0)
                {
                    return PathError.EncodedNul;
                }

                if (IsUnreserved(value))
                {
                    segment.Append((char)value);
                    continue;
                }

                if (value is '/' or '\\')
                {
                    hasEncodedSlash = true;
                }

                segment.Append('%').Append(char.ToUpperInvariant(raw[i - 1])).Append(char.ToUpperInvariant(raw[i]));
                continue;
            }

            if (PlainPathChars.Contains(c))
            {
                segment.Append(c);
            }
            else if (EncodeOnTheWay.Contains(c))
            {
                segment.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                return PathError.InvalidCharacter;
            }
        }

        return PathError.None;
    }

    /// <summary>
    /// <c>..;x</c> or <c>.;x</c>, also with the semicolon encoded (<c>..%3Bx</c>): servers that strip path
    /// parameters (Java's) read such a segment as a dot segment.
    /// </summary>
    private static bool IsDotSegmentWithParameters(string segment)
    {
        var semicolon = segment.IndexOf(';', StringComparison.Ordinal);
        var encoded = segment.IndexOf("%3B", StringComparison.Ordinal);
        var cut = semicolon < 0 ? encoded : encoded < 0 ? semicolon : Math.Min(semicolon, encoded);
        if (cut < 0)
        {
            return false;
        }

        var head = segment.AsSpan(0, cut);
        return head is "." or "..";
    }

    /// <summary>Percent-encoded bytes must form valid UTF-8 (no overlong forms such as %C0%AE for '.').</summary>
    private static bool HasValidUtf8(string normalized)
    {
        if (!normalized.Contains('%', StringComparison.Ordinal))
        {
            return true;
        }

        var bytes = new List<byte>(normalized.Length);
        for (var i = 0; i < normalized.Length; i++)
        {
            if (normalized[i] == '%' && i + 2 < normalized.Length)
            {
                bytes.Add((byte)((HexValue(normalized[i + 1]) << 4) | HexValue(normalized[i + 2])));
                i += 2;
            }
            else
            {
                bytes.Add((byte)normalized[i]);
            }
        }

        return System.Text.Unicode.Utf8.IsValid(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    private static bool IsUnreserved(int c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '.' or '_' or '~';

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
