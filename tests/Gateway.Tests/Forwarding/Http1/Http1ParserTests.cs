using System.Buffers;
using System.Text;
using CsCheck;
using Gateway.Forwarding.Http1;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Forwarding.Http1;

/// <summary>The HTTP/1.1 fast path's response parser and chunked decoder, byte for byte.</summary>
public sealed class Http1ParserTests
{
    // ---- status line ----

    [Theory]
    [InlineData("HTTP/1.1 200 OK", 200, false)]
    [InlineData("HTTP/1.1 204", 204, false)]
    [InlineData("HTTP/1.1 404 ", 404, false)]
    [InlineData("HTTP/1.0 200 OK", 200, true)]
    [InlineData("HTTP/1.0 302 Found", 302, true)]
    [InlineData("HTTP/1.1 100 Continue", 100, false)]
    [InlineData("HTTP/1.1 599 Whatever It Says", 599, false)]
    [InlineData("HTTP/1.1 500 Internal\tError", 500, false)]
    [InlineData("HTTP/1.1 200 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 200, false)]
    public void Valid_status_lines(string line, int status, bool http10)
    {
        var head = Bytes(line + "\r\nContent-Length: 0\r\n\r\n");
        Assert.True(Http1Parser.TryReadStatus(head, out var parsed, out var isHttp10, out var error), error);
        Assert.Null(error);
        Assert.Equal(status, parsed);
        Assert.Equal(http10, isHttp10);
    }

    [Theory]
    [InlineData("HTTP/2.0 200 OK")]
    [InlineData("HTTP/2 200 OK")]
    [InlineData("HTTP/1.2 200 OK")]
    [InlineData("HTTP/1.x 200 OK")]
    [InlineData("HTTP/0.9 200 OK")]
    [InlineData("http/1.1 200 OK")]
    [InlineData("HTTPS/1.1 200 OK")]
    [InlineData("ICY 200 OK")]
    [InlineData("HTTP/1.1 20 OK")]
    [InlineData("HTTP/1.1 20")]
    [InlineData("HTTP/1.1 2000 OK")]
    [InlineData("HTTP/1.1 600 Too High")]
    [InlineData("HTTP/1.1 999 Too High")]
    [InlineData("HTTP/1.1 099 Too Low")]
    [InlineData("HTTP/1.1 000 Zero")]
    [InlineData("HTTP/1.1 2x0 OK")]
    [InlineData("HTTP/1.1 -20 OK")]
    [InlineData("HTTP/1.1200 OK")]
    [InlineData("HTTP/1.1  200 OK")]
    [InlineData("HTTP/1.1\t200 OK")]
    [InlineData("HTTP/1.1 200OK")]
    [InlineData("HTTP/1.1 200\tOK")]
    [InlineData(" HTTP/1.1 200 OK")]
    [InlineData("HTTP/1.1 200 O\u0001K")]
    [InlineData("HTTP/1.1 200 O\u0000K")]
    [InlineData("HTTP/1.1 200 O\u001bK")]
    [InlineData("HTTP/1.1 200 O\u007fK")]
    [InlineData("HTTP/1.1 200 O\rK")]
    [InlineData("HTTP/1.1 200 O\nK")]
    [InlineData("HTTP/1.1 200 caf\u00e9")]
    [InlineData("HTTP/1.1 200\nContent-Length: 0")]
    [InlineData("HTTP/1.1 200 OK\nContent-Length: 0")]
    [InlineData("")]
    public void Malformed_status_lines_are_refused(string line)
    {
        var head = Bytes(line + "\r\nContent-Length: 0\r\n\r\n");
        Assert.False(Http1Parser.TryReadStatus(head, out _, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.DoesNotContain(line.Length > 0 ? line : "\u0000", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_ascii_utf8_in_the_reason_phrase_is_refused()
    {
        byte[] head = [.. "HTTP/1.1 200 caf"u8, 0xC3, 0xA9, .. "\r\n\r\n"u8];
        Assert.False(Http1Parser.TryReadStatus(head, out _, out _, out var error));
        Assert.Equal("invalid characters in the reason phrase", error);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n\r\nbody", 19)]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", 27)]
    [InlineData("HTTP/1.1 200 OK\r\nX: y\r\n", Http1Parser.NeedMore)]
    [InlineData("HTTP/1.1 200 OK\r\nX: y\r\n\r", Http1Parser.NeedMore)]
    [InlineData("HTTP/1.1 200 OK", Http1Parser.NeedMore)]
    [InlineData("", Http1Parser.NeedMore)]
    [InlineData("\n", Http1Parser.BareLineFeed)]
    [InlineData("HTTP/1.1 200 OK\n\n", Http1Parser.BareLineFeed)]
    [InlineData("HTTP/1.1 200 OK\r\n\n", Http1Parser.BareLineFeed)]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n", Http1Parser.BareLineFeed)]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n", 26)]
    public void Head_end_is_found_only_at_an_empty_crlf_line(string data, int expected)
    {
        var searched = 0;
        Assert.Equal(expected, Http1Parser.FindHeadEnd(Encoding.ASCII.GetBytes(data), ref searched));
    }

    /// <summary>A head that arrives in pieces is found where a single search over all of it finds it.</summary>
    [Fact]
    public void Head_end_search_resumes_where_it_stopped()
    {
        var line = Gen.OneOfConst("X-A: 1\r\n", "Content-Length: 10\r\n", "X-Long: " + new string('v', 100) + "\r\n", "X-Bare: a\nb\r\n", "X-CR: a\rb\r\n", "\r\n");
        Gen.Select(line.Array[0, 8], Gen.Int[1, 40].Array[1, 6]).Sample((lines, splits) =>
        {
            var data = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n" + string.Concat(lines) + "\r\nbody\r\n\r\n");
            var whole = 0;
            var expected = Http1Parser.FindHeadEnd(data, ref whole);
            var searched = 0;
            var length = 0;
            var result = Http1Parser.NeedMore;
            for (var i = 0; result == Http1Parser.NeedMore && length < data.Length; i++)
            {
                length = Math.Min(data.Length, length + splits[i % splits.Length]);
                result = Http1Parser.FindHeadEnd(data.AsSpan(0, length), ref searched);
            }

            Assert.Equal(expected, result);
        }, iter: 2_000);
    }

    // ---- header lines ----

    [Theory]
    [InlineData("X-A: one\r\n two", "obs-fold with a space")]
    [InlineData("X-A: one\r\n\ttwo", "obs-fold with a tab")]
    [InlineData(" X-A: one", "leading whitespace on the first header")]
    [InlineData("X-A : one", "space before the colon")]
    [InlineData("X-A\t: one", "tab before the colon")]
    [InlineData(": one", "empty name")]
    [InlineData("X-A one", "no colon")]
    [InlineData("X A: one", "space in the name")]
    [InlineData("X(A): one", "( in the name")]
    [InlineData("X\"A: one", "quote in the name")]
    [InlineData("X/A: one", "/ in the name")]
    [InlineData("X@A: one", "@ in the name")]
    [InlineData("X{A}: one", "braces in the name")]
    [InlineData("X[A]: one", "brackets in the name")]
    [InlineData("X=A: one", "= in the name")]
    [InlineData("X,A: one", "comma in the name")]
    [InlineData("X;A: one", "semicolon in the name")]
    [InlineData("X\u0000A: one", "NUL in the name")]
    [InlineData("X\u00e9: one", "non-ASCII in the name")]
    [InlineData("X-A: o\u0000ne", "NUL in the value")]
    [InlineData("X-A: o\rne", "bare CR in the value")]
    [InlineData("X-A: o\nne", "bare LF in the value")]
    [InlineData("X-A: one\nX-B: two", "bare LF as a line end")]
    [InlineData("X-A: one\rX-B: two", "bare CR as a line end")]
    [InlineData("X-A\nX-B: two", "bare LF inside the name")]
    [InlineData("X-A: o\u0001ne", "control character in the value")]
    [InlineData("X-A: o\u001bne", "escape in the value")]
    [InlineData("X-A: o\u007fne", "DEL in the value")]
    [InlineData("X-A: caf\u00e9", "Latin-1 in the value")]
    [InlineData("X-A: \u00ff", "0xFF in the value")]
    [InlineData("Content-Type: text/plain; charset=\u00e9", "non-ASCII in a known header")]
    [InlineData("Set-Cookie: a=\u0080", "0x80 in Set-Cookie")]
    public void Malformed_header_lines_are_refused(string line, string why)
    {
        var (ok, _, _, error) = Parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + line + "\r\nX-Z: z\r\n\r\n");
        Assert.False(ok, why);
        Assert.True(error is "malformed header line" or "invalid characters in a header value", why + ": " + error);
    }

    [Fact]
    public void Utf8_bytes_in_a_value_are_refused()
    {
        byte[] head = [.. "HTTP/1.1 200 OK\r\nX-A: caf"u8, 0xC3, 0xA9, .. "\r\nContent-Length: 0\r\n\r\n"u8];
        Assert.True(Http1Parser.TryReadStatus(head, out var status, out var http10, out _));
        var headers = new HeaderDictionary();
        Assert.False(Http1Parser.TryParseHeaders(head, status, http10, false, headers, out _, out var error));
        Assert.Equal("invalid characters in a header value", error);
    }

    [Fact]
    public void Values_are_trimmed_and_may_hold_tabs_and_visible_ascii()
    {
        var (ok, head, headers, error) = Parse(
            "HTTP/1.1 200 OK\r\nX-Trim: \t  padded \t \r\nX-Tab: a\tb\r\nX-Empty:\r\nX-Blank:   \r\nX-All: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\r\n"
            + "x-lower-case: v\r\n!#$%&'*+-.^_`|~09azAZ: token\r\nContent-Length: 0\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal("padded", headers["X-Trim"]);
        Assert.Equal("a\tb", headers["X-Tab"]);
        Assert.True(headers.ContainsKey("X-Empty"));
        Assert.Equal("", headers["X-Empty"]);
        Assert.Equal("", headers["X-Blank"]);
        Assert.Equal("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", headers["X-All"]);
        Assert.Equal("v", headers["X-Lower-Case"]);
        Assert.Equal("token", headers["!#$%&'*+-.^_`|~09azAZ"]);
        Assert.Equal(new ResponseHead(200, BodyFraming.ContentLength, 0, true), head);
    }

    [Fact]
    public void Repeated_headers_are_all_kept_in_order()
    {
        var (ok, _, headers, error) = Parse(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nX-Multi: one\r\nset-cookie: b=2; HttpOnly\r\nX-Multi: two\r\nContent-Length: 0\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal(["a=1; Path=/", "b=2; HttpOnly"], Values(headers.SetCookie));
        Assert.Equal(["one", "two"], Values(headers["X-Multi"]));
    }

    [Fact]
    public void Hop_by_hop_headers_and_those_named_in_connection_are_not_copied()
    {
        var (ok, head, headers, error) = Parse(
            "HTTP/1.1 200 OK\r\n"
            + "Connection: keep-alive, X-Secret, x-other-secret\r\n"
            + "X-Secret: s\r\nX-OTHER-SECRET: s2\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\n"
            + "Proxy-Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\nX-Kept: k\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal(BodyFraming.Chunked, head.Framing);
        Assert.True(head.KeepAlive);
        Assert.Equal(["Content-Type", "X-Kept"], headers.Keys.Order(StringComparer.OrdinalIgnoreCase));
        Assert.Equal("text/plain", headers.ContentType);

        (ok, _, headers, error) = Parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\nX-Kept: k\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal(["X-Kept"], headers.Keys);
    }

    [Fact]
    public void A_connection_token_listed_before_its_header_still_removes_it_and_repeats_are_fine()
    {
        var (ok, _, headers, error) = Parse(
            "HTTP/1.1 200 OK\r\nConnection: X-A\r\nConnection: X-B,,X-A\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nContent-Length: 0\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal(["X-C"], headers.Keys);
    }

    // ---- Content-Length ----

    [Theory]
    [InlineData("Content-Length: 5", 5)]
    [InlineData("Content-Length: 0", 0)]
    [InlineData("content-length:5", 5)]
    [InlineData("CONTENT-LENGTH: \t 5 \t", 5)]
    [InlineData("Content-Length: 005", 5)]
    [InlineData("Content-Length: 5\r\nContent-Length: 5", 5)]
    [InlineData("Content-Length: 5, 5", 5)]
    [InlineData("Content-Length: 5,5,5", 5)]
    [InlineData("Content-Length: 5\r\nContent-Length: 5, 5", 5)]
    [InlineData("Content-Length: 999999999999999999", 999_999_999_999_999_999)]
    public void Content_length_values(string lines, long length)
    {
        var (ok, head, headers, error) = Parse("HTTP/1.1 200 OK\r\n" + lines + "\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal(new ResponseHead(200, BodyFraming.ContentLength, length, true), head);
        Assert.False(headers.ContainsKey("Content-Length"));
    }

    [Theory]
    [InlineData("Content-Length: 5\r\nContent-Length: 6")]
    [InlineData("Content-Length: 5, 6")]
    [InlineData("Content-Length: 5\r\nContent-Length: 5, 6")]
    [InlineData("Content-Length: 0\r\nContent-Length: 00001")]
    [InlineData("Content-Length:")]
    [InlineData("Content-Length:   ")]
    [InlineData("Content-Length: -1")]
    [InlineData("Content-Length: +5")]
    [InlineData("Content-Length: 5a")]
    [InlineData("Content-Length: 0x5")]
    [InlineData("Content-Length: 1e3")]
    [InlineData("Content-Length: 5.0")]
    [InlineData("Content-Length: 5 5")]
    [InlineData("Content-Length: 5,")]
    [InlineData("Content-Length: ,5")]
    [InlineData("Content-Length: 5,,5")]
    [InlineData("Content-Length: \"5\"")]
    [InlineData("Content-Length: 1234567890123456789")]
    [InlineData("Content-Length: 9223372036854775807")]
    [InlineData("Content-Length: 9223372036854775808")]
    [InlineData("Content-Length: 99999999999999999999999999")]
    [InlineData("Content-Length: 5\u00a0")]
    public void Invalid_or_conflicting_content_lengths_are_refused(string lines)
    {
        var (ok, _, _, error) = Parse("HTTP/1.1 200 OK\r\n" + lines + "\r\n\r\n");
        Assert.False(ok);
        Assert.Equal(lines.Contains('\u00a0', StringComparison.Ordinal) ? "invalid characters in a header value" : "invalid or conflicting Content-Length", error);
    }

    // ---- Transfer-Encoding and framing ----

    [Theory]
    [InlineData("Transfer-Encoding: chunked", "Chunked", true)]
    [InlineData("transfer-encoding: CHUNKED", "Chunked", true)]
    [InlineData("Transfer-Encoding: gzip, chunked", "Chunked", true)]
    [InlineData("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked", "Chunked", true)]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 5", "Chunked", false)]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked", "Chunked", false)]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive", "Chunked", false)]
    [InlineData("Transfer-Encoding: gzip", "UntilClose", false)]
    [InlineData("Transfer-Encoding: chunked, gzip", "UntilClose", false)]
    [InlineData("Transfer-Encoding: gzip\r\nContent-Length: 5", "UntilClose", false)]
    [InlineData("Transfer-Encoding: identity", "UntilClose", false)]
    [InlineData("X-Nothing: here", "UntilClose", false)]
    [InlineData("Connection: keep-alive", "UntilClose", false)]
    public void Framing_of_a_200(string lines, string framing, bool keepAlive)
    {
        var (ok, head, headers, error) = Parse("HTTP/1.1 200 OK\r\n" + lines + "\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal(Enum.Parse<BodyFraming>(framing), head.Framing);
        Assert.Equal(keepAlive, head.KeepAlive);
        Assert.Equal(-1, head.ContentLength);
        Assert.False(headers.ContainsKey("Transfer-Encoding"));
        Assert.False(headers.ContainsKey("Content-Length"));
    }

    [Theory]
    [InlineData("Transfer-Encoding: chunked, chunked")]
    [InlineData("Transfer-Encoding: chunked,chunked")]
    [InlineData("Transfer-Encoding: chunked, gzip, chunked")]
    [InlineData("Transfer-Encoding: Chunked, CHUNKED")]
    public void Chunked_applied_twice_is_refused(string lines)
    {
        var (ok, _, _, error) = Parse("HTTP/1.1 200 OK\r\n" + lines + "\r\n\r\n");
        Assert.False(ok);
        Assert.Equal("chunked applied more than once", error);
    }

    /// <summary>RFC 9110 5.3: two field lines mean the same as one line with both values.</summary>
    [Fact]
    public void Chunked_applied_twice_over_two_field_lines_is_refused()
    {
        var (ok, _, _, error) = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
        Assert.False(ok);
        Assert.Equal("chunked applied more than once", error);
    }

    [Theory]
    [InlineData(204, "Content-Length: 10", false)]
    [InlineData(304, "Content-Length: 10", true)]
    [InlineData(304, "Transfer-Encoding: chunked", true)]
    [InlineData(204, "Transfer-Encoding: chunked", false)]
    [InlineData(204, "Content-Length: 0", true)]
    [InlineData(304, "", true)]
    [InlineData(100, "", true)]
    [InlineData(103, "Link: </a.css>; rel=preload", true)]
    [InlineData(199, "Content-Length: 4", false)]
    public void Responses_without_a_body_have_no_framing_and_one_that_frames_a_body_ends_its_connection(int status, string lines, bool keepAlive)
    {
        var (ok, head, _, error) = Parse($"HTTP/1.1 {status} X\r\n{(lines.Length > 0 ? lines + "\r\n" : "")}\r\n");
        Assert.True(ok, error);
        Assert.Equal(BodyFraming.None, head.Framing);
        Assert.Equal(status, head.Status);
        Assert.Equal(keepAlive, head.KeepAlive);
    }

    [Theory]
    [InlineData("Content-Length: 1234", 1234)]
    [InlineData("Transfer-Encoding: chunked", -1)]
    [InlineData("", -1)]
    [InlineData("Transfer-Encoding: gzip", -1)]
    public void Responses_to_head_have_no_framing_but_keep_their_length(string lines, long length)
    {
        var (ok, head, _, error) = Parse("HTTP/1.1 200 OK\r\n" + (lines.Length > 0 ? lines + "\r\n" : "") + "\r\n", requestWasHead: true);
        Assert.True(ok, error);
        Assert.Equal(new ResponseHead(200, BodyFraming.None, length, true), head);
    }

    [Theory]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 2", "ContentLength", false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive", "ContentLength", false)]
    [InlineData("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked", "UntilClose", false)]
    [InlineData("HTTP/1.0 200 OK", "UntilClose", false)]
    [InlineData("HTTP/1.0 204 No Content", "None", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close", "ContentLength", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Close", "ContentLength", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, close", "ContentLength", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-A\r\nConnection: close", "ContentLength", false)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close", "Chunked", false)]
    [InlineData("HTTP/1.1 204 No Content\r\nConnection: close", "None", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive", "ContentLength", true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: closed", "ContentLength", true)]
    public void Keep_alive(string head, string framing, bool keepAlive)
    {
        var (ok, parsed, headers, error) = Parse(head + "\r\n\r\n");
        Assert.True(ok, error);
        Assert.Equal(Enum.Parse<BodyFraming>(framing), parsed.Framing);
        Assert.Equal(keepAlive, parsed.KeepAlive);
        Assert.False(headers.ContainsKey("Connection"));
    }

    // ---- chunked decoder ----

    private sealed record Chunk(int Size, bool Upper, int Zeros, string Extension);

    private static readonly Gen<string> Extension = Gen.OneOfConst("", "", ";ext=val", ";a", ";a=\"quoted; \\\" value\"", " ;x=1", "\t;y", ";k=v;k2=v2");

    private static readonly Gen<Chunk> ChunkGen = Gen.Select(Gen.Int[1, 700], Gen.Bool, Gen.Int[0, 3], Extension, (size, upper, zeros, ext) => new Chunk(size, upper, zeros, ext));

    private static readonly Gen<string> Trailers = Gen.OneOfConst("", "X-T: 1\r\n", "X-A: a\r\nX-B: b b\r\n", "Digest: sha-256=abc\r\nExpires: never\r\n");

    [Fact]
    public void Chunked_bodies_decode_whatever_the_chunk_sizes_and_buffer_splits()
    {
        Gen.Select(Gen.Byte.Array[0, 4000], ChunkGen.Array[1, 12], Trailers, Extension, Gen.Int[1, 300].Array[1, 8], Gen.Int[1, 4])
            .Sample((body, chunks, trailers, lastExtension, splits, segmentsPerFeed) =>
            {
                var encoded = new List<byte>();
                var offset = 0;
                for (var i = 0; offset < body.Length; i++)
                {
                    var chunk = chunks[i % chunks.Length];
                    var size = Math.Min(chunk.Size, body.Length - offset);
                    var hex = new string('0', chunk.Zeros) + size.ToString(chunk.Upper ? "X" : "x", System.Globalization.CultureInfo.InvariantCulture);
                    encoded.AddRange(Encoding.ASCII.GetBytes(hex + chunk.Extension + "\r\n"));
                    encoded.AddRange(body.AsSpan(offset, size).ToArray());
                    encoded.AddRange("\r\n"u8.ToArray());
                    offset += size;
                }

                encoded.AddRange(Encoding.ASCII.GetBytes("0" + lastExtension + "\r\n" + trailers + "\r\n"));
                var messageLength = encoded.Count;
                // The next response on the connection must be left alone.
                encoded.AddRange("HTTP/1.1 200 OK\r\n"u8.ToArray());

                var (output, error, done, consumed) = Feed([.. encoded], splits, segmentsPerFeed);
                Assert.Null(error);
                Assert.True(done);
                Assert.Equal(body, output);
                Assert.Equal(messageLength, consumed);
            }, iter: 2_000);
    }

    [Theory]
    [InlineData("0\r\n\r\n", "")]
    [InlineData("000\r\n\r\n", "")]
    [InlineData("5\r\nhello\r\n0\r\n\r\n", "hello")]
    [InlineData("5;\r\nhello\r\n0\r\n\r\n", "hello")]
    [InlineData("5 ; name = value\r\nhello\r\n0\r\n\r\n", "hello")]
    [InlineData("a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", "01234567890123456789")]
    [InlineData("00000000000000a\r\n0123456789\r\n0\r\n\r\n", "0123456789")]
    [InlineData("5\r\nhello\r\n0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n", "hello")]
    [InlineData("3\r\n\r\n\r\r\n0\r\n\r\n", "\r\n\r")]
    public void Valid_chunked_examples(string encoded, string body)
    {
        foreach (var split in new[] { 1, 2, 3, 7, 1000 })
        {
            var (output, error, done, consumed) = Feed(Encoding.ASCII.GetBytes(encoded), [split], 2);
            Assert.Null(error);
            Assert.True(done, $"split {split}");
            Assert.Equal(body, Encoding.ASCII.GetString(output));
            Assert.Equal(encoded.Length, consumed);
        }
    }

    [Theory]
    [InlineData("0x5\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("-1\r\nx\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("+5\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData(" 5\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("\t5\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData(";ext\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("g\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("5g\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("5 5\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("5\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("5;a\u0000b\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("5;a\u0001b\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("5;a\u007fb\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("5;a\rb\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("1000000000000000\r\n", "invalid chunk size")]
    [InlineData("ffffffffffffffff\r\n", "invalid chunk size")]
    [InlineData("0000000000000000\r\n\r\n", "invalid chunk size")]
    [InlineData("5\r\nhelloXX0\r\n\r\n", "chunk data not followed by CRLF")]
    [InlineData("5\r\nhello\n0\r\n\r\n", "chunk data not followed by CRLF")]
    [InlineData("5\r\nhello\r0\r\n\r\n", "chunk data not followed by CRLF")]
    [InlineData("5\r\nhello0\r\n\r\n", "chunk data not followed by CRLF")]
    [InlineData("3\r\nhello\r\n0\r\n\r\n", "chunk data not followed by CRLF")]
    public void Invalid_chunked_encodings_are_refused(string encoded, string expected)
    {
        foreach (var split in new[] { 1, 2, 5, 1000 })
        {
            var (_, error, done, _) = Feed(Encoding.ASCII.GetBytes(encoded), [split], 2);
            Assert.Equal(expected, error);
            Assert.False(done);
        }
    }

    [Fact]
    public void Fifteen_hex_digits_is_the_largest_chunk_size()
    {
        var decoder = new ChunkedDecoder();
        var output = new ArrayBufferWriter<byte>();
        var input = new ReadOnlySequence<byte>("fffffffffffffff\r\nabc"u8.ToArray());
        var position = decoder.Decode(input, output, out var written, out var error);
        Assert.Null(error);
        Assert.Equal(3, written);
        Assert.Equal("abc", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(20, input.Slice(0, position).Length);
        Assert.False(decoder.IsDone);
    }

    [Fact]
    public void Chunk_size_lines_are_limited_to_4096_bytes()
    {
        var longest = "5;" + new string('e', 4094) + "\r\nhello\r\n0\r\n\r\n";
        foreach (var split in new[] { 100, 10_000 })
        {
            var (output, error, done, _) = Feed(Encoding.ASCII.GetBytes(longest), [split], 3);
            Assert.Null(error);
            Assert.True(done);
            Assert.Equal("hello", Encoding.ASCII.GetString(output));

            var tooLong = "5;" + new string('e', 4095) + "\r\nhello\r\n0\r\n\r\n";
            (_, error, done, _) = Feed(Encoding.ASCII.GetBytes(tooLong), [split], 3);
            Assert.Equal("invalid chunk size", error);
            Assert.False(done);

            // Never ending: refused once more than the limit is buffered, without waiting for a CRLF.
            var endless = "5;" + new string('e', 5000);
            (_, error, done, _) = Feed(Encoding.ASCII.GetBytes(endless), [split], 3);
            Assert.Equal("chunk size line too long", error);
            Assert.False(done);
        }
    }

    /// <summary>Whether a size line is accepted must not depend on how its bytes arrive.</summary>
    [Fact]
    public void A_size_line_of_exactly_4096_bytes_is_accepted_byte_by_byte()
    {
        var longest = "5;" + new string('e', 4094) + "\r\nhello\r\n0\r\n\r\n";
        var (output, error, done, _) = Feed(Encoding.ASCII.GetBytes(longest), [1], 1);
        Assert.Null(error);
        Assert.True(done);
        Assert.Equal("hello", Encoding.ASCII.GetString(output));
    }

    [Fact]
    public void Trailers_are_limited_to_64_KiB()
    {
        var line = "X-Trailer: " + new string('t', 1000) + "\r\n";
        var fits = string.Concat(Enumerable.Repeat(line, 64));
        Assert.True(fits.Length + 2 <= 64 * 1024);
        var (_, error, done, _) = Feed(Encoding.ASCII.GetBytes("0\r\n" + fits + "\r\n"), [4096], 2);
        Assert.Null(error);
        Assert.True(done);

        var tooMany = string.Concat(Enumerable.Repeat(line, 66));
        foreach (var split in new[] { 1000, 70_000 })
        {
            (_, error, done, _) = Feed(Encoding.ASCII.GetBytes("0\r\n" + tooMany + "\r\n"), [split], 2);
            Assert.Equal("trailers too long", error);
            Assert.False(done);
        }

        // One endless trailer line is refused as soon as it passes the limit.
        (_, error, done, _) = Feed(Encoding.ASCII.GetBytes("5\r\nhello\r\n0\r\nX-T: " + new string('t', 70_000)), [8192], 2);
        Assert.Equal("trailers too long", error);
        Assert.False(done);
    }

    [Fact]
    public void An_incomplete_body_is_not_done_and_reports_no_error()
    {
        foreach (var partial in new[] { "", "5", "5\r", "5\r\nhel", "5\r\nhello", "5\r\nhello\r", "5\r\nhello\r\n0\r\n", "5\r\nhello\r\n0\r\nX-T: 1\r\n" })
        {
            var (output, error, done, _) = Feed(Encoding.ASCII.GetBytes(partial), [1], 1);
            Assert.Null(error);
            Assert.False(done, partial);
            Assert.StartsWith(Encoding.ASCII.GetString(output), "hello", StringComparison.Ordinal);
        }
    }

    // ---- helpers ----

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private static string[] Values(Microsoft.Extensions.Primitives.StringValues values) => [.. values.Select(v => v ?? "")];

    private static (bool Ok, ResponseHead Head, IHeaderDictionary Headers, string? Error) Parse(string head, bool requestWasHead = false)
    {
        var bytes = Bytes(head);
        var searched = 0;
        var end = Http1Parser.FindHeadEnd(bytes, ref searched);
        // Heads with a bare LF are refused before they are parsed; the parser refuses them on its own too.
        Assert.True(end == bytes.Length || (end == Http1Parser.BareLineFeed && head.Replace("\r\n", "", StringComparison.Ordinal).Contains('\n', StringComparison.Ordinal)), $"head end {end}");
        Assert.True(Http1Parser.TryReadStatus(bytes, out var status, out var http10, out var error), error);
        var headers = new HeaderDictionary();
        var ok = Http1Parser.TryParseHeaders(bytes, status, http10, requestWasHead, headers, out var result, out error);
        Assert.Equal(ok, error is null);
        return (ok, result, headers, error);
    }

    /// <summary>
    /// Feeds <paramref name="encoded"/> to a decoder the way a PipeReader does: pieces of the sizes in
    /// <paramref name="splits"/> (cycled) arrive one after the other, and what the decoder did not consume is
    /// handed to it again with the next piece, split into up to <paramref name="segmentsPerFeed"/> segments.
    /// </summary>
    private static (byte[] Output, string? Error, bool Done, long Consumed) Feed(byte[] encoded, int[] splits, int segmentsPerFeed)
    {
        var decoder = new ChunkedDecoder();
        var output = new ArrayBufferWriter<byte>();
        var pending = Array.Empty<byte>();
        long consumed = 0;
        long total = 0;
        var offset = 0;
        for (var i = 0; offset < encoded.Length || i == 0; i++)
        {
            var take = Math.Min(splits[i % splits.Length], encoded.Length - offset);
            pending = [.. pending, .. encoded.AsSpan(offset, take)];
            offset += take;
            var sequence = Segments(pending, segmentsPerFeed + (i % 2));
            var position = decoder.Decode(sequence, output, out var written, out var error);
            total += written;
            var used = sequence.Slice(0, position).Length;
            consumed += used;
            pending = pending[(int)used..];
            if (error is not null || decoder.IsDone)
            {
                Assert.Equal(total, output.WrittenCount);
                return (output.WrittenSpan.ToArray(), error, decoder.IsDone, consumed);
            }
        }

        Assert.Equal(total, output.WrittenCount);
        return (output.WrittenSpan.ToArray(), null, decoder.IsDone, consumed);
    }

    private static ReadOnlySequence<byte> Segments(byte[] data, int count)
    {
        if (count <= 1 || data.Length < 2)
        {
            return new ReadOnlySequence<byte>(data);
        }

        var size = Math.Max(1, data.Length / count);
        Segment? first = null;
        Segment? last = null;
        for (var start = 0; start < data.Length; start += size)
        {
            var memory = data.AsMemory(start, Math.Min(size, data.Length - start));
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
