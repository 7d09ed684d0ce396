using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Forwarding.Http1;

/// <summary>How a response body is delimited (RFC 9112 section 6.3).</summary>
internal enum BodyFraming : byte
{
    None,
    ContentLength,
    Chunked,
    UntilClose,
}

/// <summary>What the gateway needs from a response head besides the headers it passes on.</summary>
internal readonly record struct ResponseHead(int Status, BodyFraming Framing, long ContentLength, bool KeepAlive);

/// <summary>
/// A strict parser for backend response heads. Anything a smuggling attempt or a broken server could use is refused
/// rather than guessed at: obs-fold, whitespace before the colon, bare CR or LF, control or non-ASCII characters,
/// conflicting Content-Length values, a Transfer-Encoding other than chunked at the end. Refusals name the problem,
/// never the backend's bytes.
/// </summary>
internal static class Http1Parser
{
    /// <summary>A response head (status line and headers) may not be longer than this.</summary>
    public const int MaxHeadBytes = 64 * 1024;

    private static readonly SearchValues<byte> TokenBytes =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // Names the parser hands out as constants instead of new strings (the ones nearly every response has).
    private static readonly string[] KnownNames =
    [
        HeaderNames.ContentType, HeaderNames.Date, HeaderNames.Server, HeaderNames.ETag, HeaderNames.LastModified,
        HeaderNames.AcceptRanges, HeaderNames.CacheControl, HeaderNames.Vary, HeaderNames.SetCookie, HeaderNames.Location,
        HeaderNames.ContentEncoding, HeaderNames.Expires, HeaderNames.KeepAlive, HeaderNames.Age, HeaderNames.Via,
        HeaderNames.Pragma, HeaderNames.ContentLanguage,
    ];

    /// <summary>The head is not complete yet.</summary>
    public const int NeedMore = -1;

    /// <summary>A line of the head ends in a bare LF.</summary>
    public const int BareLineFeed = -2;

    /// <summary>
    /// The length of the head including its blank line, <see cref="NeedMore"/>, or <see cref="BareLineFeed"/>.
    /// <paramref name="searched"/> carries how far earlier calls looked, so a head that trickles in is scanned once.
    /// </summary>
    public static int FindHeadEnd(ReadOnlySpan<byte> data, ref int searched)
    {
        var position = Math.Max(0, searched - 3);
        while (true)
        {
            var next = data[position..].IndexOf((byte)'\n');
            if (next < 0)
            {
                searched = data.Length;
                return NeedMore;
            }

            var lf = position + next;
            if (lf == 0 || data[lf - 1] != '\r')
            {
                return BareLineFeed;
            }

            if (lf >= 3 && data[lf - 2] == '\n' && data[lf - 3] == '\r')
            {
                return lf + 1;
            }

            position = lf + 1;
        }
    }

    /// <summary>Reads the status code from a head; false (with the reason) when the status line is malformed.</summary>
    public static bool TryReadStatus(ReadOnlySpan<byte> head, out int status, out bool http10, out string? error)
    {
        status = 0;
        http10 = false;
        var lineEnd = head.IndexOf("\r\n"u8);
        var line = lineEnd < 0 ? head : head[..lineEnd];
        // HTTP/1.x SP 3DIGIT [SP reason]
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[7] is not ((byte)'0' or (byte)'1') || line[8] != ' '
            || !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11]) || (line.Length > 12 && line[12] != ' '))
        {
            error = "malformed status line";
            return false;
        }

        if (line.Length > 13 && !IsFieldText(line[13..]))
        {
            error = "invalid characters in the reason phrase";
            return false;
        }

        status = ((line[9] - '0') * 100) + ((line[10] - '0') * 10) + (line[11] - '0');
        if (status is < 100 or > 599)
        {
            error = "status code out of range";
            return false;
        }

        http10 = line[7] == '0';
        error = null;
        return true;
    }

    /// <summary>
    /// Parses the header lines of a head (<paramref name="head"/> is the whole head including its blank line) and
    /// works out the framing. Passed-on headers go into <paramref name="target"/>: hop-by-hop ones (also those the
    /// response's Connection names) and Content-Length stay out.
    /// </summary>
    public static bool TryParseHeaders(ReadOnlySpan<byte> head, int status, bool http10, bool requestWasHead, IHeaderDictionary target,
        out ResponseHead result, out string? error) => TryParseHeaders(head, status, http10, requestWasHead, target, null, out result, out error);

    /// <summary>As above; <paramref name="values"/> (the connection's) hands out repeated values without new strings.</summary>
    public static bool TryParseHeaders(ReadOnlySpan<byte> head, int status, bool http10, bool requestWasHead, IHeaderDictionary target,
        Gateway.Http1.HeaderValueCache? values, out ResponseHead result, out string? error)
    {
        var index = -1;
        result = default;
        var position = head.IndexOf("\r\n"u8) + 2;
        long contentLength = -1;
        var chunked = false;
        var chunkedCount = 0;
        var transferEncoding = false;
        var close = http10;
        List<string>? nominated = null;
        while (true)
        {
            var rest = head[position..];
            var lineEnd = rest.IndexOf("\r\n"u8);
            var line = rest[..lineEnd];
            position += lineEnd + 2;
            if (line.Length == 0)
            {
                break;
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[..colon].ContainsAnyExcept(TokenBytes))
            {
                // Also obs-fold (a line starting with whitespace) and whitespace before the colon.
                error = "malformed header line";
                return false;
            }

            var nameBytes = line[..colon];
            var value = Trim(line[(colon + 1)..]);
            if (!IsFieldText(value))
            {
                error = "invalid characters in a header value";
                return false;
            }

            if (Ascii.EqualsIgnoreCase(nameBytes, "Content-Length"u8))
            {
                if (!TryParseContentLength(value, ref contentLength))
                {
                    error = "invalid or conflicting Content-Length";
                    return false;
                }

                continue;
            }

            if (Ascii.EqualsIgnoreCase(nameBytes, "Transfer-Encoding"u8))
            {
                transferEncoding = true;
                chunked = LastCodingIsChunked(value, ref chunkedCount);
                if (chunkedCount > 1)
                {
                    error = "chunked applied more than once";
                    return false;
                }

                continue;
            }

            if (Ascii.EqualsIgnoreCase(nameBytes, "Connection"u8))
            {
                // Split in place: the usual "keep-alive" costs no allocation; only nominated names become strings.
                foreach (var range in value.Split((byte)','))
                {
                    var token = Trim(value[range]);
                    if (Ascii.EqualsIgnoreCase(token, "close"u8))
                    {
                        close = true;
                    }
                    else if (token.Length > 0 && !Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
                    {
                        (nominated ??= []).Add(Encoding.ASCII.GetString(token));
                    }
                }

                continue;
            }

            var name = Name(nameBytes);
            if (HopByHop.Fixed.Contains(name))
            {
                continue;
            }

            index++;
            var text = values is null ? Encoding.ASCII.GetString(value) : values.Get(index, name, value);
            target[name] = target.TryGetValue(name, out var existing) ? StringValues.Concat(existing, text) : new StringValues(text);
        }

        if (nominated is not null)
        {
            foreach (var name in nominated)
            {
                target.Remove(name);
            }
        }

        BodyFraming framing;
        if (requestWasHead || status is < 200 or 204 or 304)
        {
            framing = BodyFraming.None;
            if (!requestWasHead && status != 304 && (transferEncoding || contentLength > 0))
            {
                // A 1xx or 204 never frames a body (RFC 9110 8.6, RFC 9112 6.1), yet this one does: a broken backend may
                // send it after all, and those bytes must never be read as the next request's response, so the connection
                // is not reused. (A 304 may state the length and coding its 200 would have: that is no sign of a body.)
                close = true;
            }
        }
        else if (transferEncoding)
        {
            // Transfer-Encoding wins over Content-Length, and such a message ends the connection (RFC 9112 6.3).
            framing = chunked && !http10 ? BodyFraming.Chunked : BodyFraming.UntilClose;
            close |= contentLength >= 0 || framing == BodyFraming.UntilClose;
            contentLength = -1;
        }
        else if (contentLength >= 0)
        {
            framing = BodyFraming.ContentLength;
        }
        else
        {
            framing = BodyFraming.UntilClose;
            close = true;
        }

        result = new ResponseHead(status, framing, contentLength, !close);
        error = null;
        return true;
    }

    private static bool TryParseContentLength(ReadOnlySpan<byte> value, ref long contentLength)
    {
        // A list of identical values ("5, 5") is one length (RFC 9110 8.6); anything else is refused.
        foreach (var range in value.Split((byte)','))
        {
            var item = Trim(value[range]);
            if (item.Length is 0 or > 18 || item.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return false;
            }

            long parsed = 0;
            foreach (var digit in item)
            {
                parsed = (parsed * 10) + (digit - '0');
            }

            if (contentLength >= 0 && contentLength != parsed)
            {
                return false;
            }

            contentLength = parsed;
        }

        return true;
    }

    private static bool LastCodingIsChunked(ReadOnlySpan<byte> value, ref int chunkedCount)
    {
        var last = false;
        foreach (var range in value.Split((byte)','))
        {
            var item = Trim(value[range]);
            if (item.Length == 0)
            {
                continue;
            }

            last = Ascii.EqualsIgnoreCase(item, "chunked"u8);
            chunkedCount += last ? 1 : 0;
        }

        return last;
    }

    private static string Name(ReadOnlySpan<byte> name)
    {
        foreach (var known in KnownNames)
        {
            if (known.Length == name.Length && Ascii.EqualsIgnoreCase(name, known))
            {
                return known;
            }
        }

        return Encoding.ASCII.GetString(name);
    }

    /// <summary>Visible ASCII, space and tab only (no obs-text, no control characters).</summary>
    private static bool IsFieldText(ReadOnlySpan<byte> value)
    {
        var index = value.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);
        while (index >= 0)
        {
            if (value[index] != '\t')
            {
                return false;
            }

            value = value[(index + 1)..];
            index = value.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);
        }

        return true;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> value) => value.Trim(" \t"u8);

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}

/// <summary>Decodes a chunked body (RFC 9112 section 7.1) strictly, a buffer at a time; trailers are read and dropped.</summary>
internal struct ChunkedDecoder
{
    private const int MaxLineBytes = 4096;
    private const int MaxTrailerBytes = 64 * 1024;

    private State _state;
    private long _remaining;
    private int _trailerBytes;

    private enum State : byte
    {
        Size,
        Data,
        DataEnd,
        Trailers,
        Done,
    }

    public readonly bool IsDone => _state == State.Done;

    /// <summary>
    /// Consumes what it can of <paramref name="buffer"/>, writing chunk data to <paramref name="output"/>. Returns the
    /// position read up to; <paramref name="error"/> is set when the encoding is invalid.
    /// </summary>
    public SequencePosition Decode(ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out long written, out string? error)
    {
        var reader = new SequenceReader<byte>(buffer);
        written = 0;
        error = null;
        while (!reader.End && _state != State.Done)
        {
            switch (_state)
            {
                case State.Size:
                    if (!reader.TryReadTo(out ReadOnlySequence<byte> sizeLine, "\r\n"u8))
                    {
                        // The line may end in a CR whose LF has not arrived yet.
                        error = reader.Remaining > MaxLineBytes + 1 ? "chunk size line too long" : null;
                        return reader.Position;
                    }

                    if (sizeLine.Length > MaxLineBytes || !TryParseSize(sizeLine, out _remaining))
                    {
                        error = "invalid chunk size";
                        return reader.Position;
                    }

                    _state = _remaining == 0 ? State.Trailers : State.Data;
                    break;
                case State.Data:
                    var take = Math.Min(_remaining, reader.Remaining);
                    foreach (var segment in reader.UnreadSequence.Slice(0, take))
                    {
                        output.Write(segment.Span);
                    }

                    reader.Advance(take);
                    written += take;
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }

                    break;
                case State.DataEnd:
                    if (reader.Remaining < 2)
                    {
                        return reader.Position;
                    }

                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        error = "chunk data not followed by CRLF";
                        return reader.Position;
                    }

                    _state = State.Size;
                    break;
                case State.Trailers:
                    if (!reader.TryReadTo(out ReadOnlySequence<byte> trailer, "\r\n"u8))
                    {
                        error = _trailerBytes + reader.Remaining > MaxTrailerBytes ? "trailers too long" : null;
                        return reader.Position;
                    }

                    _trailerBytes += (int)trailer.Length + 2;
                    if (_trailerBytes > MaxTrailerBytes)
                    {
                        error = "trailers too long";
                        return reader.Position;
                    }

                    if (trailer.Length == 0)
                    {
                        _state = State.Done;
                    }

                    break;
            }
        }

        return reader.Position;
    }

    // chunk-size [ BWS ";" chunk-ext ] with 1-15 hex digits (no sign, no "0x", no whitespace before the digits).
    private static bool TryParseSize(ReadOnlySequence<byte> line, out long size)
    {
        size = 0;
        Span<byte> copy = stackalloc byte[MaxLineBytes];
        var span = line.IsSingleSegment ? line.FirstSpan : copy[..(int)line.Length];
        if (!line.IsSingleSegment)
        {
            line.CopyTo(copy);
        }

        var digits = span.IndexOfAnyExcept("0123456789abcdefABCDEF"u8);
        if (digits < 0)
        {
            digits = span.Length;
        }

        if (digits is 0 or > 15)
        {
            return false;
        }

        var extension = span[digits..].TrimStart(" \t"u8);
        if (extension.Length > 0 && (extension[0] != ';' || extension.IndexOfAnyInRange((byte)0, (byte)0x08) >= 0
            || extension.IndexOfAnyInRange((byte)0x0A, (byte)0x1F) >= 0 || extension.Contains((byte)0x7F)))
        {
            return false;
        }

        foreach (var b in span[..digits])
        {
            size = (size << 4) | (long)HexValue(b);
        }

        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        _ => b - 'A' + 10,
    };
}
