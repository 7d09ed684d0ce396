using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Http1;

/// <summary>How a request body is delimited (RFC 9112 section 6.3).</summary>
internal enum RequestFraming : byte
{
    None,
    ContentLength,
    Chunked,
}

/// <summary>A request head as the codec read it; one instance per connection, filled again for every request.</summary>
internal sealed class RequestHead
{
    public string Method { get; set; } = "";

    /// <summary>The request target as sent (origin form, absolute form, <c>*</c> or an authority).</summary>
    public string RawTarget { get; set; } = "";

    public bool Http10 { get; set; }

    public HeaderList Headers { get; } = new();

    /// <summary>The values of the connection's previous request, handed out again when they repeat.</summary>
    public HeaderValueCache Values { get; } = new();

    public RequestFraming Framing { get; set; }

    public long ContentLength { get; set; }

    /// <summary>The connection stays open after this exchange unless the client (or the gateway) says otherwise.</summary>
    public bool KeepAlive { get; set; }

    /// <summary><c>Expect: 100-continue</c>: the client waits for an interim answer before it sends the body.</summary>
    public bool ExpectContinue { get; set; }

    /// <summary>A WebSocket upgrade (<c>GET</c>, <c>Connection: upgrade</c>, <c>Upgrade: websocket</c>): Kestrel's HTTP layer takes the connection.</summary>
    public bool Upgrade { get; set; }

    public void Reset()
    {
        Method = "";
        RawTarget = "";
        Http10 = false;
        Headers.Reset();
        Framing = RequestFraming.None;
        ContentLength = 0;
        KeepAlive = true;
        ExpectContinue = false;
        Upgrade = false;
    }
}

/// <summary>The hard ceilings of the codec (the configured limits apply on top, with problem documents).</summary>
internal readonly record struct HeadLimits(int MaxRequestLine, int MaxHeaderBytes, int MaxHeaders);

/// <summary>Why a request head was refused: the status to answer and why, in words.</summary>
internal readonly record struct HeadError(int Status, string Detail);

/// <summary>
/// Reads request heads strictly, at least as strictly as Kestrel does: a request line of exactly three parts with
/// single spaces and a visible-ASCII target; HTTP/1.0 or 1.1 (another version is 505); header names that are tokens
/// with the colon right after them (no whitespace before it); no obs-fold, no bare CR or LF, no NUL; values in UTF-8;
/// exactly one Host on HTTP/1.1, a plain host name, IPv4 or bracketed IPv6 address with an optional numeric port (and
/// the authority of an absolute-form target must be that Host); one Content-Length of plain digits; Transfer-Encoding
/// only as a final <c>chunked</c> (another coding before it is 501, one after it 400), never together with
/// Content-Length and never on HTTP/1.0.
/// </summary>
internal static class RequestHeadParser
{
    private static readonly SearchValues<byte> TokenBytes =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>What a host name or IPv4 address in <c>Host</c> may be made of: letters, digits, <c>- . _ ~</c>.</summary>
    private static readonly SearchValues<char> NameChars =
        SearchValues.Create("-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~");

    /// <summary>What the inside of an IPv6 literal may be made of.</summary>
    private static readonly SearchValues<char> Ipv6Chars = SearchValues.Create(".0123456789:ABCDEFabcdef");

    // Header names handed out as constants instead of new strings: the ones nearly every request carries.
    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> KnownNames = new[]
    {
        HeaderNames.Host, HeaderNames.UserAgent, HeaderNames.Accept, HeaderNames.AcceptEncoding, HeaderNames.AcceptLanguage,
        HeaderNames.Connection, HeaderNames.ContentLength, HeaderNames.ContentType, HeaderNames.Cookie, HeaderNames.Authorization,
        HeaderNames.CacheControl, HeaderNames.Pragma, HeaderNames.Referer, HeaderNames.Origin, HeaderNames.IfNoneMatch,
        HeaderNames.IfModifiedSince, HeaderNames.TransferEncoding, HeaderNames.Expect, HeaderNames.TE, HeaderNames.Upgrade,
        HeaderNames.Range, HeaderNames.KeepAlive, "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
        HeaderNames.XRequestedWith, HeaderNames.UpgradeInsecureRequests, HeaderNames.DNT, "X-Request-Id", "traceparent", "tracestate",
        "X-API-Key", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile",
        "Sec-Ch-Ua-Platform", "Priority", "Forwarded",
    }.ToFrozenDictionary(name => name, StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>
    /// Fills <paramref name="into"/> from <paramref name="head"/> (the request line and header lines, up to and
    /// including the blank line, every line ending in CRLF). False with the refusal when the head is not acceptable.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> head, RequestHead into, in HeadLimits limits, out HeadError error)
    {
        into.Reset();
        var lineEnd = head.IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return Fail(out error, 400, "The request line does not end.");
        }

        if (lineEnd > limits.MaxRequestLine)
        {
            return Fail(out error, StatusCodes.Status414UriTooLong, "The request line is too long.");
        }

        if (!TryParseRequestLine(head[..lineEnd], into, out error))
        {
            return false;
        }

        var position = lineEnd + 2;
        var headerLines = 0;
        var headerBytes = 0;
        while (true)
        {
            var rest = head[position..];
            var end = rest.IndexOf("\r\n"u8);
            if (end < 0)
            {
                return Fail(out error, 400, "The request headers do not end.");
            }

            if (end == 0)
            {
                break;
            }

            var line = rest[..end];
            position += end + 2;
            headerBytes += end + 2;
            if (++headerLines > limits.MaxHeaders || headerBytes > limits.MaxHeaderBytes)
            {
                return Fail(out error, StatusCodes.Status431RequestHeaderFieldsTooLarge, "The request has too many headers or too many bytes of them.");
            }

            if (!TryParseHeaderLine(line, headerLines - 1, into, out error))
            {
                return false;
            }
        }

        return Validate(into, out error);
    }

    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, RequestHead into, out HeadError error)
    {
        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0 || line[..firstSpace].ContainsAnyExcept(TokenBytes))
        {
            return Fail(out error, 400, "The request method is not a token.");
        }

        var rest = line[(firstSpace + 1)..];
        var secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            return Fail(out error, 400, "The request line is not 'METHOD target HTTP/1.1'.");
        }

        var target = rest[..secondSpace];
        var version = rest[(secondSpace + 1)..];
        if (target.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
        {
            return Fail(out error, 400, "The request target has a character that is not visible ASCII.");
        }

        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            into.Http10 = false;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            into.Http10 = true;
            into.KeepAlive = false;
        }
        else if (version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5]) && version[6] == '.' && char.IsAsciiDigit((char)version[7]))
        {
            return Fail(out error, StatusCodes.Status505HttpVersionNotsupported, "Only HTTP/1.0 and HTTP/1.1 are served on this connection.");
        }
        else
        {
            return Fail(out error, 400, "The request line is not 'METHOD target HTTP/1.1'.");
        }

        into.Method = Method(line[..firstSpace]);
        into.RawTarget = Encoding.ASCII.GetString(target);
        error = default;
        return true;
    }

    private static bool TryParseHeaderLine(ReadOnlySpan<byte> line, int index, RequestHead into, out HeadError error)
    {
        if (line[0] is (byte)' ' or (byte)'\t')
        {
            return Fail(out error, 400, "A header line is folded onto the one before (obs-fold is not accepted).");
        }

        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return Fail(out error, 400, "A header line has no name and colon.");
        }

        var nameBytes = line[..colon];
        if (nameBytes.ContainsAnyExcept(TokenBytes))
        {
            return Fail(out error, 400, nameBytes[^1] is (byte)' ' or (byte)'\t'
                ? "A header name is followed by whitespace before its colon."
                : "A header name is not a token.");
        }

        var value = line[(colon + 1)..];
        var start = 0;
        while (start < value.Length && value[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }

        var end = value.Length;
        while (end > start && value[end - 1] is (byte)' ' or (byte)'\t')
        {
            end--;
        }

        value = value[start..end];
        if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0)
        {
            return Fail(out error, 400, "A header value contains NUL, CR or LF.");
        }

        var name = Name(nameBytes);
        string text;
        if (Ascii.IsValid(value))
        {
            text = into.Values.Get(index, name, value);
        }
        else
        {
            try
            {
                text = StrictUtf8.GetString(value);
            }
            catch (DecoderFallbackException)
            {
                return Fail(out error, 400, "A header value is not valid UTF-8.");
            }
        }

        into.Headers.Append(name, text);
        error = default;
        return true;
    }

    /// <summary>
    /// A field line (a trailer, without its CRLF) that any server reads the same way: a token name, the colon right
    /// after it, and a value of visible characters, spaces and tabs only (no CR, LF, NUL or other controls, no obs-fold).
    /// </summary>
    public static bool IsWellFormedField(ReadOnlySpan<byte> line)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0 || line[..colon].ContainsAnyExcept(TokenBytes))
        {
            return false;
        }

        foreach (var b in line[(colon + 1)..])
        {
            if ((b < 0x20 && b != '\t') || b == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The checks that need the whole head: Host, framing, connection options.</summary>
    private static bool Validate(RequestHead head, out HeadError error)
    {
        var headers = head.Headers;
        var hosts = headers.CountOf(HeaderNames.Host);
        if (hosts > 1 || (hosts == 0 && !head.Http10))
        {
            return Fail(out error, 400, hosts > 1 ? "The request has more than one Host header." : "The request has no Host header.");
        }

        if (hosts == 1)
        {
            var host = headers[HeaderNames.Host][0]!;
            if (!IsValidHost(host))
            {
                return Fail(out error, 400, "The Host header is not a host name, address or port.");
            }

            if (AbsoluteAuthority(head.RawTarget) is { } authority && !string.Equals(authority, host, StringComparison.OrdinalIgnoreCase))
            {
                return Fail(out error, 400, "The authority of the request target is not the Host header's.");
            }
        }

        var transferEncoding = headers[HeaderNames.TransferEncoding];
        var contentLength = headers[HeaderNames.ContentLength];
        if (transferEncoding.Count > 0)
        {
            if (head.Http10)
            {
                // RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
                return Fail(out error, 400, "An HTTP/1.0 request cannot use Transfer-Encoding.");
            }

            if (contentLength.Count > 0)
            {
                return Fail(out error, 400, "The request has both Content-Length and Transfer-Encoding.");
            }

            switch (FramingHeaders.Classify(transferEncoding))
            {
                case TransferCoding.Malformed:
                    return Fail(out error, 400, "The request's Transfer-Encoding does not end in chunked.");
                case TransferCoding.Unsupported:
                    return Fail(out error, StatusCodes.Status501NotImplemented, "The only transfer coding the gateway accepts is 'Transfer-Encoding: chunked' on its own.");
            }

            head.Framing = RequestFraming.Chunked;
        }
        else if (contentLength.Count > 0)
        {
            if (contentLength.Count > 1 || !TryParseLength(contentLength[0]!, out var length))
            {
                return Fail(out error, 400, "The Content-Length header must be one plain decimal number.");
            }

            head.ContentLength = length;
            head.Framing = length > 0 ? RequestFraming.ContentLength : RequestFraming.None;
        }

        if (!FramingHeaders.TryReadConnection(headers[HeaderNames.Connection], out var close, out var keepAlive, out var upgrade))
        {
            return Fail(out error, 400, "The Connection header is not a list of tokens.");
        }

        if (close)
        {
            head.KeepAlive = false;
        }
        else if (keepAlive && head.Http10)
        {
            head.KeepAlive = true;
        }

        // Only a WebSocket upgrade leaves the codec (for Kestrel's HTTP layer, which serves it): any other Upgrade is a
        // plain request here, its Upgrade and Connection headers dropped as hop-by-hop on the way to the backend.
        head.Upgrade = upgrade && HttpMethods.IsGet(head.Method) && IsWebSocket(headers[HeaderNames.Upgrade]);

        var expect = headers[HeaderNames.Expect];
        head.ExpectContinue = !head.Http10 && expect.Count == 1 && string.Equals(expect[0], "100-continue", StringComparison.OrdinalIgnoreCase);
        error = default;
        return true;
    }

    /// <summary>
    /// A <c>Host</c> value the gateway accepts: empty, or a name or IPv4 address (letters, digits, <c>- . _ ~</c>) or an
    /// IPv6 literal in brackets, then optionally <c>:</c> and a port of 1 to 5 digits. Stricter than RFC 3986's
    /// reg-name on purpose: sub-delimiters (<c>t,u</c>) and percent-encoding have no use in a host a backend serves, and
    /// servers read them differently.
    /// </summary>
    private static bool IsValidHost(ReadOnlySpan<char> host)
    {
        if (host.IsEmpty)
        {
            return true;
        }

        int end;
        if (host[0] == '[')
        {
            end = host.IndexOf(']');
            if (end < 3 || host[1..end].ContainsAnyExcept(Ipv6Chars))
            {
                return false;
            }

            end++;
        }
        else
        {
            end = host.IndexOf(':');
            end = end < 0 ? host.Length : end;
            if (end == 0 || host[..end].ContainsAnyExcept(NameChars))
            {
                return false;
            }
        }

        if (end == host.Length)
        {
            return true;
        }

        var port = host[(end + 1)..];
        return host[end] == ':' && port.Length is >= 1 and <= 5 && !port.ContainsAnyExceptInRange('0', '9') && int.Parse(port, CultureInfo.InvariantCulture) <= 65535;
    }

    private static bool IsWebSocket(StringValues upgrade)
    {
        foreach (var value in upgrade)
        {
            var text = (value ?? "").AsSpan();
            foreach (var range in text.Split(','))
            {
                if (FramingHeaders.Trim(text[range]).Equals("websocket", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The authority of an absolute-form target (<c>http://host:port/path</c>), or null for any other form.</summary>
    private static string? AbsoluteAuthority(string target)
    {
        var start = target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? 7
            : target.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? 8
            : -1;
        if (start < 0)
        {
            return null;
        }

        var end = target.AsSpan(start).IndexOfAny('/', '?');
        return end < 0 ? target[start..] : target.Substring(start, end);
    }

    private static bool TryParseLength(string text, out long length)
    {
        length = 0;
        if (text.Length is 0 or > 18)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            length = (length * 10) + (c - '0');
        }

        return true;
    }

    private static string Method(ReadOnlySpan<byte> method) => method switch
    {
        [(byte)'G', (byte)'E', (byte)'T'] => HttpMethods.Get,
        [(byte)'P', (byte)'O', (byte)'S', (byte)'T'] => HttpMethods.Post,
        [(byte)'P', (byte)'U', (byte)'T'] => HttpMethods.Put,
        [(byte)'H', (byte)'E', (byte)'A', (byte)'D'] => HttpMethods.Head,
        [(byte)'D', (byte)'E', (byte)'L', (byte)'E', (byte)'T', (byte)'E'] => HttpMethods.Delete,
        [(byte)'P', (byte)'A', (byte)'T', (byte)'C', (byte)'H'] => HttpMethods.Patch,
        [(byte)'O', (byte)'P', (byte)'T', (byte)'I', (byte)'O', (byte)'N', (byte)'S'] => HttpMethods.Options,
        [(byte)'T', (byte)'R', (byte)'A', (byte)'C', (byte)'E'] => HttpMethods.Trace,
        [(byte)'C', (byte)'O', (byte)'N', (byte)'N', (byte)'E', (byte)'C', (byte)'T'] => HttpMethods.Connect,
        _ => Encoding.ASCII.GetString(method),
    };

    private static string Name(ReadOnlySpan<byte> name)
    {
        if (name.Length <= 64)
        {
            Span<char> chars = stackalloc char[name.Length];
            Ascii.ToUtf16(name, chars, out _);
            if (KnownNames.TryGetValue(chars, out var known))
            {
                return known;
            }
        }

        return Encoding.ASCII.GetString(name);
    }

    private static bool Fail(out HeadError error, int status, string detail)
    {
        error = new HeadError(status, detail);
        return false;
    }
}
