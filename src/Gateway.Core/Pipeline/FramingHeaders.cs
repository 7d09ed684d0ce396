using System.Buffers;
using Microsoft.Extensions.Primitives;

namespace Gateway.Pipeline;

/// <summary>What a request's <c>Transfer-Encoding</c> says about its framing.</summary>
internal enum TransferCoding : byte
{
    /// <summary>No Transfer-Encoding.</summary>
    None,

    /// <summary><c>chunked</c> alone: the one framing the gateway reads.</summary>
    Chunked,

    /// <summary>A list that does not end in <c>chunked</c>, or an element that is not a plain token: cannot be framed (400).</summary>
    Malformed,

    /// <summary>Other codings before a final <c>chunked</c> (<c>gzip, chunked</c>): well-formed, not implemented (501).</summary>
    Unsupported,
}

/// <summary>
/// The request headers that decide framing and the connection, read the same way by both codecs: list elements are
/// split on commas and trimmed of spaces and tabs only (RFC 9110 section 5.6.1), never of other whitespace, so
/// <c>chunked</c> followed by a no-break space is not <c>chunked</c>; every element must be a plain token.
/// </summary>
internal static class FramingHeaders
{
    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    public static TransferCoding Classify(StringValues transferEncoding)
    {
        if (transferEncoding.Count == 0)
        {
            return TransferCoding.None;
        }

        var elements = 0;
        var lastIsChunked = false;
        foreach (var value in transferEncoding)
        {
            foreach (var range in (value ?? "").AsSpan().Split(','))
            {
                var element = Trim((value ?? "").AsSpan()[range]);
                if (element.ContainsAnyExcept(TokenChars) && element.Length > 0)
                {
                    return TransferCoding.Malformed;
                }

                elements++;
                lastIsChunked = element.Equals("chunked", StringComparison.OrdinalIgnoreCase);
            }
        }

        return !lastIsChunked ? TransferCoding.Malformed : elements > 1 ? TransferCoding.Unsupported : TransferCoding.Chunked;
    }

    /// <summary>The elements of a <c>Connection</c> header; false when one is not a plain token.</summary>
    public static bool TryReadConnection(StringValues connection, out bool close, out bool keepAlive, out bool upgrade)
    {
        close = keepAlive = upgrade = false;
        foreach (var value in connection)
        {
            var text = (value ?? "").AsSpan();
            foreach (var range in text.Split(','))
            {
                var element = Trim(text[range]);
                if (element.IsEmpty)
                {
                    continue;
                }

                if (element.ContainsAnyExcept(TokenChars))
                {
                    return false;
                }

                close |= element.Equals("close", StringComparison.OrdinalIgnoreCase);
                keepAlive |= element.Equals("keep-alive", StringComparison.OrdinalIgnoreCase);
                upgrade |= element.Equals("upgrade", StringComparison.OrdinalIgnoreCase);
            }
        }

        return true;
    }

    /// <summary>Trims spaces and tabs, and nothing else.</summary>
    public static ReadOnlySpan<char> Trim(ReadOnlySpan<char> text) => text.Trim(" \t");
}
