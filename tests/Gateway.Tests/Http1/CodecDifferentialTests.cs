using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Http1;

/// <summary>
/// A differential test of the two HTTP/1.1 server codecs. The same corpus of raw requests goes, on raw sockets, through
/// a gateway on the native codec and one on Kestrel's, on the same config, both forwarding to one backend that records
/// the exact bytes it receives. Valid requests must reach the backend the same through both (after normalizing only
/// what legitimately differs, each normalization justified where it is made) and get the same status and body.
/// Malformed and smuggling-shaped requests (several hundred, mostly generated) follow a table that names, per shape,
/// the native codec's answer and what Kestrel's does: the native codec refuses every one of them (never a 2xx), closes
/// the connection, and lets no byte of them reach the backend (where the defect comes after valid body bytes, which a
/// streaming gateway may pass on first, never a whole request); where Kestrel is looser (it forwards), the table says so.
/// </summary>
public sealed partial class CodecDifferentialTests
{
    /// <summary>One byte per character, so that a case written as a string is exactly the bytes sent.</summary>
    private static readonly Encoding Wire = Encoding.Latin1;

    /// <summary>How long a refusal may take to arrive (a bound for a hang, never a measurement: refusals come at once).</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a connection Kestrel keeps open without answering is watched (the table says which ones).</summary>
    private static readonly TimeSpan SilenceTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Small limits, so that the shapes over them stay small: the codecs' hard ceilings sit at twice these (a request
    /// line over 2112 bytes, over 40 header lines or over 8 KiB of them), the limits stage answers between the two.
    /// </summary>
    private static string Config(string backend) => $$"""
        server:
          host: 127.0.0.1
          port: 0
          limits: {max_uri_bytes: 1024, max_headers: 20, max_header_bytes: 4096, request_header_timeout_secs: 10}
        routes:
          - {id: root, path: /, backend: "{{backend}}"}
          - {id: m, path: /m/*rest, backend: "{{backend}}"}
          - {id: listed, path: /listed, backend: "{{backend}}", methods: [GET, TRACE]}
        """;

    // =====================================================================================================
    // Valid requests: byte-identical at the backend, same status and body at the client.
    // =====================================================================================================

    [Fact]
    public async Task Valid_requests_reach_the_backend_the_same_through_both_codecs_and_get_the_same_answer()
    {
        await using var rig = await Rig.StartAsync();
        var failures = new List<string>();
        var corpus = ValidCorpus().ToArray();
        Assert.InRange(corpus.Length, 50, 100);
        foreach (var valid in corpus)
        {
            var bytes = Wire.GetBytes(valid.Raw);
            var nativeMark = rig.Backend.Mark();
            var native = await ExchangeAsync(rig.Native.Port, bytes, AnswerTimeout, valid.WaitForContinue);
            var nativeSeen = rig.Backend.Since(nativeMark);
            var kestrelMark = rig.Backend.Mark();
            var kestrel = await ExchangeAsync(rig.Kestrel.Port, bytes, AnswerTimeout, valid.WaitForContinue);
            var kestrelSeen = rig.Backend.Since(kestrelMark);

            var problems = new List<string>();
            var methods = RequestMethods(bytes);
            var nativeAnswers = ParseResponses(native.Bytes, methods, out var nativeInterim);
            var kestrelAnswers = ParseResponses(kestrel.Bytes, methods, out var kestrelInterim);
            if (!native.Closed || !kestrel.Closed)
            {
                problems.Add($"the connection stayed open (native closed: {native.Closed}, kestrel closed: {kestrel.Closed})");
            }

            // Interim answers are not compared: a server may leave out 100 Continue once the body has arrived (RFC 9110
            // section 10.1.1), and Kestrel does while the native codec sends it on the first read of the body. Only where
            // the client really waits for it before sending the body must both send it.
            if (valid.WaitForContinue && (nativeInterim == 0 || kestrelInterim == 0))
            {
                problems.Add($"a client waiting for 100 Continue got {nativeInterim} interim answers from native and {kestrelInterim} from kestrel");
            }

            if (nativeAnswers.Count != methods.Count || kestrelAnswers.Count != methods.Count)
            {
                problems.Add($"{methods.Count} requests got {nativeAnswers.Count} answers from native, {kestrelAnswers.Count} from kestrel:\n"
                    + $"  native: {Show(native.Bytes)}\n  kestrel: {Show(kestrel.Bytes)}");
            }

            for (var i = 0; i < Math.Min(nativeAnswers.Count, kestrelAnswers.Count); i++)
            {
                if (nativeAnswers[i] != kestrelAnswers[i])
                {
                    problems.Add($"answer {i} differs: native {nativeAnswers[i]}, kestrel {kestrelAnswers[i]}");
                }
            }

            if (nativeAnswers.Count > 0 && valid.Forwarded > 0 && nativeAnswers[^1].Status != 200)
            {
                problems.Add($"the last answer is {nativeAnswers[^1].Status}, not the backend's 200");
            }

            if (nativeSeen.Length != valid.Forwarded || kestrelSeen.Length != valid.Forwarded)
            {
                problems.Add($"the backend should get {valid.Forwarded} requests, it got {nativeSeen.Length} through native and {kestrelSeen.Length} through kestrel");
            }

            for (var i = 0; i < Math.Min(nativeSeen.Length, kestrelSeen.Length); i++)
            {
                var a = Canonical(nativeSeen[i], valid.Raw);
                var b = Canonical(kestrelSeen[i], valid.Raw);
                if (a != b)
                {
                    problems.Add($"request {i} reached the backend differently:\n--- native ---\n{a}\n--- kestrel ---\n{b}");
                }
            }

            failures.AddRange(problems.Select(p => $"[{valid.Name}] {p}"));
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>
    /// Valid requests on which the codecs do not agree, each pinned down: where the native codec follows the RFC and
    /// Kestrel (or the gateway on Kestrel's codec) does not.
    /// </summary>
    [Fact]
    public async Task Where_the_codecs_disagree_on_a_valid_request_the_difference_is_the_one_written_down()
    {
        await using var rig = await Rig.StartAsync();
        var failures = new List<string>();

        // The scheme of an absolute-form target is case-insensitive (RFC 3986 section 3.1): the native codec takes
        // HTTP://T/... as http://t/...; Kestrel answers its own 400.
        var upper = Wire.GetBytes("GET HTTP://T/m/abs HTTP/1.1\r\nHost: T\r\nConnection: close\r\n\r\n");
        var mark = rig.Backend.Mark();
        var native = await ExchangeAsync(rig.Native.Port, upper, AnswerTimeout);
        Expect(failures, "upper-case scheme, native", StatusOf(native.Bytes) == 200 && rig.Backend.Since(mark) is [var forwarded] && forwarded.Complete
            && Wire.GetString(forwarded.Bytes).StartsWith("GET /m/abs HTTP/1.1\r\n", StringComparison.Ordinal), Show(native.Bytes));
        mark = rig.Backend.Mark();
        var kestrel = await ExchangeAsync(rig.Kestrel.Port, upper, AnswerTimeout);
        Expect(failures, "upper-case scheme, kestrel", StatusOf(kestrel.Bytes) == 400 && rig.Backend.Since(mark).Length == 0, Show(kestrel.Bytes));

        // Headers named in Connection are hop-by-hop (RFC 9110 section 7.6.1): the native codec hands the header over
        // whole and X-Hop is dropped. Kestrel reduces a Connection header that holds a single option (close) to that
        // option, so the names beside it never reach the gateway and X-Hop passes (HopByHop.AsServerSees models it for the
        // offline tools). That is a gap of the Kestrel path, not a behaviour to keep: only the forwarding is checked there.
        var hop = Wire.GetBytes("GET /m/hop HTTP/1.1\r\nHost: t\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\n\r\n");
        mark = rig.Backend.Mark();
        native = await ExchangeAsync(rig.Native.Port, hop, AnswerTimeout);
        Expect(failures, "Connection: close, X-Hop, native", StatusOf(native.Bytes) == 200 && rig.Backend.Since(mark) is [var dropped]
            && !Wire.GetString(dropped.Bytes).Contains("X-Hop", StringComparison.OrdinalIgnoreCase), Show(native.Bytes));
        mark = rig.Backend.Mark();
        kestrel = await ExchangeAsync(rig.Kestrel.Port, hop, AnswerTimeout);
        Expect(failures, "Connection: close, X-Hop, kestrel", StatusOf(kestrel.Bytes) == 200 && rig.Backend.Since(mark).Length == 1, Show(kestrel.Bytes));

        Assert.True(failures.Count == 0, string.Join("\n", failures));

        static void Expect(List<string> failures, string name, bool holds, string seen)
        {
            if (!holds)
            {
                failures.Add($"[{name}] not as written down; the client got: {seen}");
            }
        }
    }

    /// <summary>A valid request (or several on one connection), how many of them the backend gets, and whether the client waits for 100 Continue.</summary>
    private sealed record Valid(string Name, string Raw, int Forwarded = 1, bool WaitForContinue = false);

    private static IEnumerable<Valid> ValidCorpus()
    {
        const string Close = "Connection: close\r\n";
        const string Chunked = "Transfer-Encoding: chunked\r\n";
        yield return new("GET /", "GET / HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("GET a path", "GET /m/plain HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("GET with a query", "GET /m/q?a=1&b=two&c=%20x&empty=&flag HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("GET with an encoded path", "GET /m/%7Euser/caf%C3%A9/a%20b/%61%62 HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("GET with dot segments", "GET /m/a/./b/../c/%2e%2e/d HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("GET with repeated slashes", "GET /m//x///y HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("GET with odd query characters", "GET /m/q?q=a+b&r=%26&s=[]{}|^`&t=\"' HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("HEAD", "HEAD /m/head HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("HEAD with a query", "HEAD /m/head?x=1 HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("POST with Content-Length", "POST /m/post HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n" + Close + "\r\nhello");
        yield return new("POST with Content-Length: 0", "POST /m/post HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n" + Close + "\r\n");
        yield return new("POST without a body", "POST /m/post HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("Content-Length with leading zeros", "POST /m/post HTTP/1.1\r\nHost: t\r\nContent-Length: 0005\r\n" + Close + "\r\nhello");
        yield return new("Content-Length with whitespace around it", "POST /m/ows HTTP/1.1\r\nHost: t\r\nContent-Length: \t5 \r\n" + Close + "\r\nhello");
        var binary = new string(Enumerable.Range(0, 1000).Select(i => (char)(i % 256)).ToArray());
        yield return new("PUT with a binary body", "PUT /m/put HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n" + Close + "\r\n" + binary);
        yield return new("PATCH with JSON", "PATCH /m/patch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 13\r\n" + Close + "\r\n{\"a\":[1,2,3]}");
        yield return new("DELETE", "DELETE /m/thing/7 HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("OPTIONS", "OPTIONS /m/opt HTTP/1.1\r\nHost: t\r\nOrigin: http://o.example\r\nAccess-Control-Request-Method: PUT\r\n" + Close + "\r\n");
        yield return new("OPTIONS * (not a path: 400 from the gateway)", "OPTIONS * HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n", Forwarded: 0);
        yield return new("TRACE on a route that lists it", "TRACE /listed HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("TRACE on a route that does not (405)", "TRACE /m/x HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n", Forwarded: 0);
        yield return new("an extension method", "PURGE /m/purge HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("a lower-case method (methods are case-sensitive tokens)", "get /m/lower HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("GET with a body", "GET /m/get-body HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n" + Close + "\r\nabc");
        yield return new("no route (404)", "GET /nowhere HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n", Forwarded: 0);
        yield return new("a refused path (400)", "GET /m/a%2Fb HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n", Forwarded: 0);
        var many = string.Concat(Enumerable.Range(0, 17).Select(i => $"X-Header-{i}: value {i}\r\n"));
        yield return new("as many headers as allowed", "GET /m/many HTTP/1.1\r\nHost: t\r\n" + many + Close + "\r\n");
        yield return new("values with tabs, commas, quotes and UTF-8",
            "GET /m/values HTTP/1.1\r\nHost: t\r\nX-Tab: a\tb\r\nX-List: a, b,c ,, d\r\nX-Quoted: \"a, b\" ; q=1\r\nX-Utf8: caf\u00c3\u00a9 \u00e2\u0082\u00ac\r\n" + Close + "\r\n");
        yield return new("repeated header names", "GET /m/dup HTTP/1.1\r\nHost: t\r\nX-Dup: a\r\nAccept: text/html\r\nX-Dup: b\r\nAccept: */*\r\n" + Close + "\r\n");
        yield return new("two Cookie lines", "GET /m/cookies HTTP/1.1\r\nHost: t\r\nCookie: a=1\r\nX-Between: x\r\nCookie: b=2; c=3\r\n" + Close + "\r\n");
        yield return new("header names in any case",
            "GET /m/case HTTP/1.1\r\nhost: t\r\nx-lower: a\r\nX-UPPER: b\r\ncontent-type: text/plain\r\nuser-agent: ua/1\r\nACCEPT: */*\r\nif-none-match: \"e\"\r\nif-match: \"m\"\r\nmax-forwards: 3\r\nvia: 1.1 p\r\n" + Close + "\r\n");
        yield return new("known headers in an odd order",
            "GET /m/order HTTP/1.1\r\nX-First: 1\r\nUser-Agent: ua\r\nX-Second: 2\r\nHost: t\r\nAccept-Encoding: gzip\r\nX-Third: 3\r\nAccept: */*\r\nReferer: http://r/\r\nCache-Control: no-cache\r\n" + Close + "\r\n");
        yield return new("hop-by-hop headers",
            "GET /m/hop HTTP/1.0\r\nHost: t\r\nConnection: X-Hop, X-Other\r\nX-Hop: secret\r\nX-Other: o\r\nKeep-Alive: timeout=5\r\nTE: trailers, deflate\r\nProxy-Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nX-Kept: yes\r\n\r\n");
        yield return new("client X-Forwarded-* and proxy-only headers",
            "GET /m/xff HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nX-Real-IP: 203.0.113.9\r\nForwarded: for=1.2.3.4\r\n" + Close + "\r\n");
        yield return new("look-alikes of framing headers (Transfer_Encoding, Content_Length)",
            "POST /m/alike HTTP/1.1\r\nHost: t\r\nTransfer_Encoding: chunked\r\nContent_Length: 6\r\nContent-Length: 5\r\n" + Close + "\r\nhello");
        yield return new("a client request id and trace context",
            "GET /m/trace HTTP/1.1\r\nHost: t\r\nX-Request-Id: client-id-123\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\ntracestate: k=v\r\n" + Close + "\r\n");
        yield return new("an invalid request id and trace context",
            "GET /m/trace HTTP/1.1\r\nHost: t\r\nX-Request-Id: has space and \u00c3\u00a9\r\ntraceparent: 00-zz-yy-01\r\ntracestate: k=v\r\n" + Close + "\r\n");
        yield return new("Host with a port", "GET /m/port HTTP/1.1\r\nHost: t.example:8080\r\n" + Close + "\r\n");
        yield return new("Host in upper case", "GET /m/upper HTTP/1.1\r\nHost: T.EXAMPLE\r\n" + Close + "\r\n");
        yield return new("Host as IP literals", "GET /m/ip HTTP/1.1\r\nHost: [::1]:80\r\n\r\nGET /m/ip4 HTTP/1.1\r\nHost: 1.2.3.4:80\r\n" + Close + "\r\n", Forwarded: 2);
        yield return new("Host with the characters of a name", "GET /m/name HTTP/1.1\r\nHost: a-b.c_d~e.0123:0080\r\n" + Close + "\r\n");
        yield return new("an empty Host", "GET /m/empty-host HTTP/1.1\r\nHost:\r\n" + Close + "\r\n");
        yield return new("HTTP/1.0 without Host", "GET /m/ten HTTP/1.0\r\n\r\n");
        yield return new("HTTP/1.0 with Host", "GET /m/ten HTTP/1.0\r\nHost: t\r\n\r\n");
        yield return new("HTTP/1.0 POST", "POST /m/ten HTTP/1.0\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
        yield return new("HTTP/1.0 keep-alive, twice", "GET /m/ten1 HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\nGET /m/ten2 HTTP/1.0\r\nHost: t\r\n\r\n", Forwarded: 2);
        yield return new("HTTP/1.0 with Expect: 100-continue", "POST /m/ten HTTP/1.0\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
        yield return new("keep-alive, pipelined", "GET /m/p1 HTTP/1.1\r\nHost: t\r\n\r\nGET /m/p2 HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n", Forwarded: 2);
        yield return new("three pipelined requests with a body and a HEAD",
            "GET /m/p1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /m/p2 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbodyHEAD /m/p3 HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n", Forwarded: 3);
        yield return new("a chunked body followed by a pipelined request",
            "POST /m/c1 HTTP/1.1\r\nHost: t\r\n" + Chunked + "\r\n0\r\n\r\nGET /m/c2 HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n", Forwarded: 2);
        yield return new("chunked", "POST /m/chunked HTTP/1.1\r\nHost: t\r\n" + Chunked + Close + "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        yield return new("chunked with extensions", "POST /m/chunked HTTP/1.1\r\nHost: t\r\n" + Chunked + Close + "\r\n5;name=value;flag\r\nhello\r\n0;last=\"q\"\r\n\r\n");
        yield return new("chunked with trailers", "POST /m/chunked HTTP/1.1\r\nHost: t\r\n" + Chunked + Close + "\r\n5\r\nhello\r\n0\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n");
        yield return new("a trailer named Content-Length (dropped)", "POST /m/chunked HTTP/1.1\r\nHost: t\r\n" + Chunked + Close + "\r\n5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n");
        yield return new("chunk sizes in upper-case hex with leading zeros", "POST /m/chunked HTTP/1.1\r\nHost: t\r\n" + Chunked + Close + "\r\n000A\r\n0123456789\r\n00\r\n\r\n");
        yield return new("many small chunks",
            "POST /m/chunked HTTP/1.1\r\nHost: t\r\n" + Chunked + Close + "\r\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"1\r\n{(char)('a' + (i % 26))}\r\n")) + "0\r\n\r\n");
        yield return new("an empty chunked body", "POST /m/chunked HTTP/1.1\r\nHost: t\r\n" + Chunked + Close + "\r\n0\r\n\r\n");
        yield return new("Transfer-Encoding: Chunked", "POST /m/chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n" + Close + "\r\n3\r\nabc\r\n0\r\n\r\n");
        yield return new("Expect: 100-continue with Content-Length", "POST /m/expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n" + Close + "\r\nhello");
        yield return new("Expect: 100-continue with chunked", "POST /m/expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n" + Chunked + Close + "\r\n5\r\nhello\r\n0\r\n\r\n");
        yield return new("Expect: 100-continue, the body sent after the interim answer",
            "PUT /m/expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 11\r\n" + Close + "\r\nhello world", WaitForContinue: true);
        yield return new("an Expect the gateway does not know", "POST /m/expect HTTP/1.1\r\nHost: t\r\nExpect: something\r\nContent-Length: 5\r\n" + Close + "\r\nhello");
        yield return new("an absolute-form target", "GET http://t/m/abs?x=1 HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("an absolute-form target with a port", "GET http://t:8080/m/abs HTTP/1.1\r\nHost: t:8080\r\n" + Close + "\r\n");
        yield return new("an empty line before the request", "\r\nGET /m/leading HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("a target just under the limit", "GET /m/" + new string('a', 1000) + " HTTP/1.1\r\nHost: t\r\n" + Close + "\r\n");
        yield return new("optional whitespace around values",
            "GET /m/ows HTTP/1.1\r\nHost:t\r\nX-A:no-space\r\nX-B:   lots   \r\nX-C:\ttab\t\r\nX-Empty:\r\nX-Spaces:    \r\n" + Close + "\r\n");
        yield return new("credentials", "GET /m/creds HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer abc.def.ghi\r\nCookie: session=" + new string('s', 300) + "\r\n" + Close + "\r\n");
    }

    /// <summary>
    /// A request as the backend received it, with only what legitimately differs between the codecs abstracted away.
    /// </summary>
    private static string Canonical(Received received, string sent)
    {
        var text = Wire.GetString(received.Bytes);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!received.Complete || headEnd < 0)
        {
            return "incomplete: " + text;
        }

        var lines = text[..headEnd].Split("\r\n");
        var headers = new List<(string Name, string Value)>();
        var chunked = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            // Field names are case-insensitive (RFC 9110 section 5.1): Kestrel spells the names of its known-header table
            // its own way (If-Match for if-match), the native codec keeps them as sent beyond its own shorter table.
            var name = (colon < 0 ? line : line[..colon]).ToLowerInvariant();
            var value = colon < 0 ? "" : line[(colon + 1)..].Trim();
            if (name == "x-request-id" && !sent.Contains(value, StringComparison.Ordinal))
            {
                // A fresh id per request (a client's valid id is kept, and then compared as it is).
                value = "<generated>";
            }
            else if (name == "traceparent" && value.Split('-') is [var version, var trace, _, var flags])
            {
                // The gateway's own span id is new on every request, and so is the trace id unless the client's is continued.
                value = $"{version}-{(sent.Contains(trace, StringComparison.Ordinal) ? trace : "<new trace>")}-<span>-{flags}";
            }

            chunked |= name == "transfer-encoding" && value.Equals("chunked", StringComparison.OrdinalIgnoreCase);
            headers.Add((name, value));
        }

        // The order of fields with different names carries no meaning (RFC 9110 section 5.3), and Kestrel's header
        // dictionary hands its known headers out first, in its own order. The sort is stable: lines of one name stay in order.
        var head = lines[0] + "\n" + string.Join("\n", headers.OrderBy(h => h.Name, StringComparer.Ordinal).Select(h => $"{h.Name}: {h.Value}"));
        var body = text[(headEnd + 4)..];
        // Chunk boundaries are the transfer coding's, hop by hop (RFC 9112 section 7.1): the forwarder re-chunks what the
        // codec hands it, and the native codec hands out one client chunk at a time where Kestrel gathers them. The data
        // and the trailers are compared.
        return head + "\n\n" + (chunked ? DecodeChunked(body) : body);
    }

    private static string DecodeChunked(string body)
    {
        var data = new StringBuilder("chunked data: ");
        var position = 0;
        while (true)
        {
            var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = int.Parse(body[position..lineEnd].Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            position = lineEnd + 2;
            if (size == 0)
            {
                return data.Append("\ntrailers: ").Append(body[position..]).ToString();
            }

            data.Append(body, position, size);
            position += size + 2;
        }
    }

    // =====================================================================================================
    // Malformed and smuggling-shaped requests: the table.
    // =====================================================================================================

    private enum Upstream
    {
        /// <summary>Not a byte reaches the backend.</summary>
        Nothing,

        /// <summary>At most the head (and perhaps body bytes) reaches the backend, never the whole request.</summary>
        Head,

        /// <summary>The backend gets a whole request.</summary>
        Request,
    }

    /// <summary>What the gateway on Kestrel's codec does with a shape: the status it answers (0: no HTTP/1.1 answer) and what reaches the backend.</summary>
    private readonly record struct KestrelDoes(int Status, Upstream Upstream)
    {
        public override string ToString() => (Status, Upstream) switch
        {
            (_, Upstream.Request) => $"forwards it ({Status})",
            (0, Upstream.Head) => "forwards the head, then waits",
            (_, Upstream.Head) => $"forwards the head, then {Status}",
            (0, _) => "gives no HTTP/1.1 answer",
            _ => $"refuses ({Status})",
        };
    }

    private static KestrelDoes Refuses(int status) => new(status, Upstream.Nothing);

    private static readonly KestrelDoes Forwards = new(200, Upstream.Request);

    private static KestrelDoes ForwardsTheHeadThen(int status) => new(status, Upstream.Head);

    private static readonly KestrelDoes NoAnswer = new(0, Upstream.Nothing);

    /// <summary>
    /// One malformed shape: its bytes (<c>{M}</c> is replaced by a path unique to the shape, which names it at the
    /// backend), the status the native codec answers, and what Kestrel does. <paramref name="Streams"/>: the defect comes
    /// after valid body bytes, which a streaming gateway may already have passed on with the head when it meets the
    /// defect; then the backend must still never get a whole request.
    /// </summary>
    private sealed record Shape(string Group, string Name, string Raw, int Native, KestrelDoes Kestrel, bool Streams = false)
    {
        public bool KestrelIsLooser => Kestrel.Upstream != Upstream.Nothing;

        public override string ToString() => $"{Group} / {Name}: native {Native}, kestrel {Kestrel}";
    }

    public static TheoryData<string> Groups() => new(Table().Select(s => s.Group).Distinct());

    [Fact]
    public void The_table_holds_several_hundred_distinct_shapes_and_names_where_kestrel_is_looser()
    {
        var table = Table().ToArray();
        Assert.True(table.Length >= 300, $"{table.Length} shapes");
        var duplicates = table.GroupBy(s => s.Group + " / " + s.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.True(duplicates.Length == 0, "names used twice: " + string.Join(", ", duplicates));
        Assert.All(table, s => Assert.Contains("{M}", s.Raw, StringComparison.Ordinal));
        Assert.All(table, s => Assert.InRange(s.Native, 400, 599));
        // The table is what documents the difference: these are the shapes Kestrel's codec lets through to the backend.
        Assert.Contains(table, s => s.Name == "Content-Length: '+5'" && s.Kestrel == Forwards);
        Assert.True(table.Count(s => s.KestrelIsLooser) >= 30, string.Join("\n", table.Where(s => s.KestrelIsLooser)));
    }

    [Theory]
    [MemberData(nameof(Groups))]
    public async Task Malformed_requests_are_refused_by_the_native_codec_at_least_as_strictly_as_by_kestrel_and_never_reach_the_backend(string group)
    {
        var shapes = Table().Where(s => s.Group == group).ToArray();
        await using var rig = await Rig.StartAsync();
        var failures = new List<string>();

        // Native first, alone on the backend: whatever the backend gets meanwhile came through the native codec.
        var mark = rig.Backend.Mark();
        var native = await RunAllAsync(rig.Native.Port, shapes, _ => AnswerTimeout);
        var (nativeSeen, nativeBytes) = await rig.Backend.SettledSinceAsync(mark);
        for (var i = 0; i < shapes.Length; i++)
        {
            var shape = shapes[i];
            var status = StatusOf(native[i].Bytes);
            if (status != shape.Native)
            {
                var what = status is >= 200 and < 300 ? " (a 2xx to a malformed request)" : "";
                failures.Add($"[{shape.Name}] native answered {Describe(status)}{what}, the table says {shape.Native}: {Show(native[i].Bytes)}");
            }

            if (!native[i].Closed)
            {
                failures.Add($"[{shape.Name}] native left the connection open after {Describe(status)}");
            }

            var reached = nativeSeen.Where(r => r.Names(Marker(i))).ToArray();
            if (shape.Streams ? reached.Any(r => r.Complete) : reached.Length > 0)
            {
                failures.Add($"[{shape.Name}] reached the backend through native: {string.Join(" | ", reached.Select(r => (r.Complete ? "whole: " : "in part: ") + Show(r.Bytes)))}");
            }
        }

        // Every byte the backend got in the native pass belongs to a shape that may stream (and is accounted for above).
        var streamed = nativeSeen.Where(r => shapes.Select((s, i) => (s, i)).Any(x => x.s.Streams && r.Names(Marker(x.i)))).Sum(r => (long)r.Bytes.Length);
        if (nativeBytes != streamed)
        {
            failures.Add($"the backend got {nativeBytes} bytes during the native pass, {streamed} of them from shapes whose valid body bytes may stream: "
                + string.Join(" | ", nativeSeen.Select(r => Show(r.Bytes))));
        }

        // Then Kestrel, checked against the table (which is what documents where it is looser).
        mark = rig.Backend.Mark();
        var kestrel = await RunAllAsync(rig.Kestrel.Port, shapes, s => s.Kestrel.Status == 0 ? SilenceTimeout : AnswerTimeout);
        var (kestrelSeen, _) = await rig.Backend.SettledSinceAsync(mark);
        for (var i = 0; i < shapes.Length; i++)
        {
            var shape = shapes[i];
            var reached = kestrelSeen.Where(r => r.Names(Marker(i))).ToArray();
            var upstream = reached.Any(r => r.Complete) ? Upstream.Request : reached.Length > 0 ? Upstream.Head : Upstream.Nothing;
            var seen = new KestrelDoes(StatusOf(kestrel[i].Bytes), upstream);
            // Whether Kestrel's path has sent the head yet when it meets a defect in the body is a race between the
            // forwarder's flush and Kestrel's parse: "the head, then ..." means at most the head, never the whole request.
            if (seen != shape.Kestrel && !(shape.Kestrel.Upstream == Upstream.Head && seen == shape.Kestrel with { Upstream = Upstream.Nothing }))
            {
                failures.Add($"[{shape.Name}] kestrel {seen}, the table says it {shape.Kestrel}: {Show(kestrel[i].Bytes)}");
            }
        }

        var failing = shapes.Count(shape => failures.Any(f => f.StartsWith($"[{shape.Name}]", StringComparison.Ordinal)));
        Assert.True(failures.Count == 0, $"{failing} of {shapes.Length} shapes in '{group}' are not as the table says:\n" + string.Join("\n", failures));
    }

    private static string Marker(int index) => $"/m/c{index:D4}";

    private static string Describe(int status) => status == 0 ? "nothing" : status.ToString(CultureInfo.InvariantCulture);

    private static async Task<Exchanged[]> RunAllAsync(int port, Shape[] shapes, Func<Shape, TimeSpan> timeout)
    {
        // Concurrently, in batches: refusals close at once, and the few connections Kestrel keeps open cost one timeout per batch.
        var results = new Exchanged[shapes.Length];
        const int Batch = 96;
        for (var start = 0; start < shapes.Length; start += Batch)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(Batch, shapes.Length - start)).Select(async i =>
                results[i] = await ExchangeAsync(port, Wire.GetBytes(shapes[i].Raw.Replace("{M}", Marker(i), StringComparison.Ordinal)), timeout(shapes[i]))));
        }

        return results;
    }

    private static IEnumerable<Shape> Table() =>
        RequestLineShapes().Concat(HeaderLineShapes()).Concat(FramingShapes()).Concat(ChunkedShapes()).Concat(HostAndLimitShapes());

    private const string Close = "Connection: close\r\n";

    private static IEnumerable<Shape> RequestLineShapes()
    {
        const string Group = "request line";
        const string Rest = "\r\nHost: t\r\n" + Close + "\r\n";
        foreach (var method in new[] { "G(T", "GE\"T", "G@T", "GET\0", "G\tT", "G\u00c3\u0089T", "GE,T", "G[T]", "\u00ffGET", "GE/T", "G:T", "{GET}" })
        {
            yield return new(Group, $"method '{Escape(method)}'", $"{method} {{M}} HTTP/1.1" + Rest, 400, Refuses(400));
        }

        foreach (var (name, line, kestrel) in new[]
        {
            ("double space after the method", "GET  {M} HTTP/1.1", Refuses(400)),
            ("tab after the method", "GET\t{M} HTTP/1.1", Refuses(400)),
            ("tab before the version", "GET {M}\tHTTP/1.1", Refuses(400)),
            ("a leading space", " GET {M} HTTP/1.1", Refuses(400)),
            ("a trailing space", "GET {M} HTTP/1.1 ", Refuses(400)),
            // Kestrel accepts it: the backend gets the target without the extra space.
            ("double space before the version", "GET {M}  HTTP/1.1", Forwards),
            ("no version", "GET {M}", Refuses(400)),
            ("four parts", "GET {M} HTTP/1.1 extra", Refuses(400)),
            ("no method", "{M} HTTP/1.1", Refuses(400)),
            ("a bare CR in the request line", "GET {M}\r HTTP/1.1", Refuses(400)),
            ("a bare LF ends the request line", "GET {M} HTTP/1.1\n", Refuses(400)),
            ("NUL in the target", "GET {M}\0x HTTP/1.1", Refuses(400)),
            ("a space in the target", "GET {M} x HTTP/1.1", Refuses(400)),
        })
        {
            yield return new(Group, name, line + Rest, 400, kestrel);
        }

        // Versions: HTTP/x.y other than 1.0 and 1.1 is 505 from the native codec, anything else is not a version (400).
        // Kestrel answers 505 for more of them.
        foreach (var (version, native, kestrel) in new[]
        {
            ("HTTP/2.0", 505, 505), ("HTTP/1.2", 505, 505), ("HTTP/3.0", 505, 505), ("HTTP/0.9", 505, 505), ("HTTP/9.9", 505, 505),
            ("http/1.1", 400, 505), ("Http/1.1", 400, 505), ("HTTP/1.1x", 400, 400), ("HTTP/1", 400, 400), ("HTTP/11", 400, 505), ("HTTP/1.10", 400, 400),
            ("HTTP/ 1.1", 400, 400), ("HTTP/2", 400, 400), ("HTTP/A.B", 400, 505), ("HTTPS/1.1", 400, 400), ("HTTP-1.1", 400, 505), ("HTTP/1,1", 400, 505),
            ("HTTP\\1.1", 400, 505), ("HTTP/1.1\0", 400, 400), ("HTTP/01.1", 400, 400),
        })
        {
            yield return new(Group, $"version '{Escape(version)}'", $"GET {{M}} {version}" + Rest, native, Refuses(kestrel));
        }

        foreach (var (name, target, native, kestrel) in new[]
        {
            ("a fragment", "{M}#frag", 400, Refuses(400)),
            ("a control character in the target", "{M}/\u0001", 400, Refuses(400)),
            ("DEL in the target", "{M}/\u007f", 400, Refuses(400)),
            ("a raw byte 0xFF in the target", "{M}/\u00ff", 400, Refuses(400)),
            ("raw UTF-8 in the target", "{M}/\u00c3\u00a9", 400, Refuses(400)),
            ("no leading slash", "m/x{M}", 400, Refuses(400)),
            ("an encoded NUL", "{M}/%00", 400, Refuses(400)),
            ("an invalid percent-encoding", "{M}/%zz", 400, Refuses(400)),
            ("a raw backslash", "{M}\\x", 400, Refuses(400)),
            ("asterisk-form for GET", "*?{M}", 400, Refuses(400)),
            ("authority-form for GET", "t:80{M}", 400, Refuses(400)),
            ("absolute-form, another authority than Host", "http://other{M}", 400, Refuses(400)),
            ("absolute-form, another port than Host", "http://t:81{M}", 400, Refuses(400)),
            ("absolute-form, scheme ftp", "ftp://t{M}", 400, Refuses(400)),
            // Userinfo in a target is deprecated and to be treated as an error (RFC 9110 section 4.2.4).
            ("absolute-form with userinfo", "http://u@t{M}", 400, Forwards),
            ("absolute-form without authority", "http:{M}", 400, Refuses(400)),
            ("absolute-form with an empty authority", "http://{M}", 400, Refuses(400)),
            ("a target over max_uri_bytes", "{M}/" + new string('a', 1100), 414, Refuses(414)),
            ("a target over the codec ceiling", "{M}/" + new string('a', 2200), 414, Refuses(414)),
            ("a target of 16 KiB", "{M}/" + new string('a', 16 * 1024), 414, Refuses(414)),
        })
        {
            yield return new(Group, name, $"GET {target} HTTP/1.1" + Rest, native, kestrel);
        }

        // RFC 9112 section 2.2 asks to ignore at least one empty line before a request; the native codec takes eight.
        yield return new(Group, "nine empty lines first", string.Concat(Enumerable.Repeat("\r\n", 9)) + "GET {M} HTTP/1.1" + Rest, 400, Forwards);
        yield return new(Group, "a bare LF line first", "\nGET {M} HTTP/1.1" + Rest, 400, Forwards);
        yield return new(Group, "a TLS client hello", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003{M}\r\n\r\n", 400, Refuses(400));
        // Kestrel's HTTP/1.1-only listener recognizes the HTTP/2 preface and gives no HTTP/1.1 answer to it.
        yield return new(Group, "the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n{M}", 505, NoAnswer);
    }

    private static IEnumerable<Shape> HeaderLineShapes()
    {
        // Each defect on each of several headers (those that frame, address or do neither).
        var defects = new (string Name, Func<string, string, string> Line, KestrelDoes Kestrel, bool Renames)[]
        {
            ("space before the colon", (n, v) => $"{n} : {v}\r\n", Refuses(400), false),
            ("tab before the colon", (n, v) => $"{n}\t: {v}\r\n", Refuses(400), false),
            ("obs-fold (space)", (n, v) => $"{n}:\r\n {v}\r\n", Refuses(400), false),
            ("obs-fold (tab)", (n, v) => $"{n}:\r\n\t{v}\r\n", Refuses(400), false),
            ("obs-fold after the value", (n, v) => $"{n}: {v}\r\n x\r\n", Refuses(400), false),
            // Kestrel accepts a bare LF as a line end (RFC 9112 section 2.2 allows it; the native codec does not).
            ("a bare LF ends the line", (n, v) => $"{n}: {v}\n", Forwards, false),
            ("a bare CR ends the line", (n, v) => $"{n}: {v}\rX-Next: y\r\n", Refuses(400), false),
            ("a bare CR in the value", (n, v) => $"{n}: {v}\rx\r\n", Refuses(400), false),
            ("a bare LF in the value", (n, v) => $"{n}: {v}\nx\r\n", Refuses(400), false),
            ("NUL in the value", (n, v) => $"{n}: {v}\0\r\n", Refuses(400), false),
            ("NUL in the name", (n, v) => $"{n}\0: {v}\r\n", Refuses(400), false),
            ("CR in the name", (n, v) => $"{n}\r: {v}\r\n", Refuses(400), false),
            ("LF in the name", (n, v) => $"X\n{n}: {v}\r\n", Refuses(400), false),
            ("a space in the name", (n, v) => $"X {n}: {v}\r\n", Refuses(400), false),
            ("a leading space (a fold of the line before)", (n, v) => $" {n}: {v}\r\n", Refuses(400), false),
            ("SOH in the value", (n, v) => $"{n}: {v}\u0001\r\n", Refuses(400), false),
            ("VT before the value", (n, v) => $"{n}: \u000b{v}\r\n", Refuses(400), false),
            ("FF after the value", (n, v) => $"{n}: {v}\u000c\r\n", Refuses(400), false),
            ("ESC in the value", (n, v) => $"{n}: {v}\u001b\r\n", Refuses(400), false),
            ("DEL in the value", (n, v) => $"{n}: {v}\u007f\r\n", Refuses(400), false),
            // Kestrel takes any visible character up to the colon as a name (and the gateway forwards it as sent); the
            // header it was meant to be is then absent (so Host fails, Content-Length and Transfer-Encoding do not frame).
            ("'(' in the name", (n, v) => $"{n}(: {v}\r\n", Forwards, true),
            ("'\"' in the name", (n, v) => $"\"{n}\": {v}\r\n", Forwards, true),
            ("'/' in the name", (n, v) => $"{n}/x: {v}\r\n", Forwards, true),
            ("'@' in the name", (n, v) => $"@{n}: {v}\r\n", Forwards, true),
            ("'[' in the name", (n, v) => $"{n}[]: {v}\r\n", Forwards, true),
            ("'=' in the name", (n, v) => $"{n}=: {v}\r\n", Forwards, true),
            ("UTF-8 in the name", (n, v) => $"{n}\u00c3\u00a9: {v}\r\n", Refuses(400), false),
            ("invalid UTF-8 in the value", (n, v) => $"{n}: {v}\u00ff\u00fe\r\n", Refuses(400), false),
            ("no colon", (n, v) => $"{n} {v}\r\n", Refuses(400), false),
            ("an empty name", (n, v) => $": {v}\r\n{n}: {v}\r\n", Refuses(400), false),
        };
        var carriers = new (string Header, string Value, string Start, string Body)[]
        {
            ("Host", "t", "GET {M} HTTP/1.1\r\n", ""),
            ("Content-Length", "5", "POST {M} HTTP/1.1\r\nHost: t\r\n", "hello"),
            ("Transfer-Encoding", "chunked", "POST {M} HTTP/1.1\r\nHost: t\r\n", "5\r\nhello\r\n0\r\n\r\n"),
            ("X-Custom", "v", "GET {M} HTTP/1.1\r\nHost: t\r\n", ""),
        };
        foreach (var (header, value, start, body) in carriers)
        {
            foreach (var (name, line, kestrel, renames) in defects)
            {
                var expected = renames && header == "Host" ? Refuses(400) : kestrel;
                yield return new("header lines", $"{header}: {name}", start + line(header, value) + Close + "\r\n" + body, 400, expected);
            }
        }
    }

    private static IEnumerable<Shape> FramingShapes()
    {
        const string Group = "framing";
        const string Post = "POST {M} HTTP/1.1\r\nHost: t\r\n";
        const string ChunkedBody = "5\r\nhello\r\n0\r\n\r\n";

        // Content-Length values that are not one plain decimal number (RFC 9110 section 8.6: 1*DIGIT).
        foreach (var (length, kestrel) in new[]
        {
            // Kestrel reads a sign: +5 as 5, -0 and +0 as 0, and frames the body by that (the gateway then forwards a plain length).
            ("+5", Forwards), ("-0", Forwards), ("+0", Forwards),
            ("-5", Refuses(400)), ("0x5", Refuses(400)), ("5 5", Refuses(400)), ("5,5", Refuses(400)), ("5, 5", Refuses(400)), ("5,6", Refuses(400)),
            ("", Refuses(400)), ("abc", Refuses(400)), ("5a", Refuses(400)), ("a5", Refuses(400)), ("5.0", Refuses(400)), ("5e0", Refuses(400)),
            ("\"5\"", Refuses(400)), ("5;", Refuses(400)), ("5\t5", Refuses(400)), ("\u00d9\u00a5", Refuses(400)),
            ("99999999999999999999", Refuses(400)), ("9223372036854775808", Refuses(400)), ("18446744073709551621", Refuses(400)),
            // 19 digits fit a long: Kestrel forwards the head and waits for the body; the native codec takes at most 18 digits.
            ("1000000000000000000", ForwardsTheHeadThen(0)),
        })
        {
            yield return new(Group, $"Content-Length: '{Escape(length)}'", Post + $"Content-Length: {length}\r\n" + Close + "\r\nhello", 400, kestrel);
        }

        foreach (var (first, second) in new[] { ("5", "5"), ("5", "6"), ("5", "0"), ("0", "5"), ("5", "") })
        {
            yield return new(Group, $"two Content-Lengths '{first}' and '{second}'",
                Post + $"Content-Length: {first}\r\nContent-Length: {second}\r\n" + Close + "\r\nhello", 400, Refuses(400));
        }

        // Content-Length beside Transfer-Encoding, in both orders and spellings (RFC 9112 section 6.3: refused, never guessed).
        foreach (var length in new[] { "5", "0", "23", "+5", "-1", "abc" })
        {
            foreach (var coding in new[] { "chunked", "Chunked", "gzip, chunked", "identity" })
            {
                yield return new(Group, $"Content-Length: {length} then Transfer-Encoding: {coding}",
                    Post + $"Content-Length: {length}\r\nTransfer-Encoding: {coding}\r\n" + Close + "\r\n" + ChunkedBody, 400, Refuses(400));
                yield return new(Group, $"Transfer-Encoding: {coding} then Content-Length: {length}",
                    Post + $"Transfer-Encoding: {coding}\r\nContent-Length: {length}\r\n" + Close + "\r\n" + ChunkedBody, 400, Refuses(400));
            }
        }

        yield return new(Group, "transfer-encoding and content-length in lower case",
            Post + "transfer-encoding: chunked\r\ncontent-length: 5\r\n" + Close + "\r\n" + ChunkedBody, 400, Refuses(400));
        yield return new(Group, "TRANSFER-ENCODING and CONTENT-LENGTH in upper case",
            Post + "TRANSFER-ENCODING: chunked\r\nCONTENT-LENGTH: 5\r\n" + Close + "\r\n" + ChunkedBody, 400, Refuses(400));
        yield return new(Group, "X-Content-Length beside Transfer-Encoding",
            Post + "X-Content-Length: 5\r\nTransfer-Encoding: chunked\r\n" + Close + "\r\n" + ChunkedBody, 400, Refuses(400));
        yield return new(Group, "Transfer-Encoding and Content-Length on HTTP/1.0",
            "POST {M} HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", 400, Refuses(400));

        // RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding is to be treated as if its framing is faulty
        // (an HTTP/1.0 hop before the gateway would not have read it as chunked), and the connection closed. Both codecs
        // serve it today, and keep the connection for the request after it.
        yield return new(Group, "Transfer-Encoding on HTTP/1.0",
            "POST {M} HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + ChunkedBody, 400, Forwards);
        yield return new(Group, "Transfer-Encoding on HTTP/1.0 with keep-alive, then another request",
            "POST {M} HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + ChunkedBody + "GET {M}/second HTTP/1.0\r\nHost: t\r\n\r\n", 400, Forwards);

        // Transfer codings other than a final chunked: 501 for a coding before chunked, 400 when chunked is not last.
        foreach (var (coding, status) in new[]
        {
            ("gzip, chunked", 501), ("chunked, chunked", 501), ("identity, chunked", 501), ("deflate,chunked", 501), ("x-custom, chunked", 501),
            (",chunked", 501), ("chunked , chunked", 501), ("gzip", 400), ("chunked, gzip", 400), ("identity", 400), ("compress", 400),
            ("xchunked", 400), ("chunkedx", 400), ("\"chunked\"", 400), ("chunked;q=1", 400), ("", 400), (",", 400), ("chunked,", 400),
            ("chunked\u000b", 400),
        })
        {
            yield return new(Group, $"Transfer-Encoding: '{Escape(coding)}'", Post + $"Transfer-Encoding: {coding}\r\n" + Close + "\r\n" + ChunkedBody, status, Refuses(status));
        }

        foreach (var (first, second, status) in new[] { ("gzip", "chunked", 501), ("chunked", "chunked", 501), ("chunked", "gzip", 400), ("chunked", "", 400) })
        {
            yield return new(Group, $"two Transfer-Encodings '{first}' and '{second}'",
                Post + $"Transfer-Encoding: {first}\r\nTransfer-Encoding: {second}\r\n" + Close + "\r\n" + ChunkedBody, status, Refuses(status));
        }
    }

    private static IEnumerable<Shape> ChunkedShapes()
    {
        const string Group = "chunked body";
        const string Head = "POST {M} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n" + Close + "\r\n";
        // Kestrel forwards the head before it reads the body, and then answers 400 (or, where it does not see the defect,
        // forwards the whole request); the native codec meets the defect before the forwarder has sent anything.
        var broken = ForwardsTheHeadThen(400);
        var framings = new (string Name, string Body, KestrelDoes Kestrel, bool AfterData)[]
        {
            ("a size that is not hex", "g\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a size followed by junk", "5g\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a negative size", "-5\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a size with a sign", "+5\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a space before the size", " 5\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a space after the size", "5 \r\nhello\r\n0\r\n\r\n", broken, false),
            ("a 0x size", "0x5\r\nhello\r\n0\r\n\r\n", broken, false),
            ("an empty size line", "\r\nhello\r\n0\r\n\r\n", broken, false),
            // Kestrel skips chunk extensions however long they are, NUL included.
            ("an extension beyond the bound (2000 bytes)", "5;" + new string('e', 2000) + "\r\nhello\r\n0\r\n\r\n", Forwards, false),
            ("an extension of 100 KiB", "5;" + new string('e', 100 * 1024) + "\r\nhello\r\n0\r\n\r\n", Forwards, false),
            ("NUL in an extension", "5;a\0\r\nhello\r\n0\r\n\r\n", Forwards, false),
            ("a bare LF in an extension", "5;a\nb\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a bare CR in an extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a size of 18 hex digits", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a size of 2^64", "10000000000000000\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a size of 2^63", "8000000000000000\r\nhello\r\n0\r\n\r\n", broken, false),
            ("a size line ending in a bare LF", "5\nhello\r\n0\r\n\r\n", broken, false),
            ("data not followed by CRLF", "5\r\nhelloX\r\n0\r\n\r\n", broken, true),
            ("data followed by the next size", "5\r\nhello0\r\n\r\n", broken, true),
            ("data followed by a bare LF", "5\r\nhello\n0\r\n\r\n", broken, true),
            ("data followed by a bare CR", "5\r\nhello\r0\r\n\r\n", broken, true),
            ("data longer than its size", "3\r\nhello\r\n0\r\n\r\n", broken, true),
        };
        foreach (var (name, body, kestrel, afterData) in framings)
        {
            yield return new(Group, name, Head + body, 400, kestrel, Streams: afterData);
            yield return new(Group, name + ", after a good chunk", Head + "3\r\nabc\r\n" + body, 400, kestrel, Streams: true);
        }

        // The last chunk and the trailers after it (which both codecs read and drop). Malformed trailer lines are refused by
        // Kestrel as it refuses header lines, so they must be by the native codec.
        var trailers = new (string Name, string Body, KestrelDoes Kestrel)[]
        {
            ("the last chunk ends in a bare LF", "0\n\r\n", broken),
            // Kestrel keeps waiting for more (and gives no answer).
            ("the end of the trailers is a bare LF", "0\r\n\n", ForwardsTheHeadThen(0)),
            ("a trailer ends in a bare LF", "0\r\nX-T: y\n\r\n", Forwards),
            ("a trailer of 20 KiB", "0\r\nX-T: " + new string('t', 20 * 1024) + "\r\n\r\n", broken),
            ("400 trailer lines", "0\r\n" + string.Concat(Enumerable.Range(0, 400).Select(i => $"X-T{i}: {new string('t', 40)}\r\n")) + "\r\n", broken),
            ("a trailer without a colon", "0\r\nno colon here\r\n\r\n", broken),
            ("a trailer with a space before the colon", "0\r\nX-T : y\r\n\r\n", broken),
            ("a trailer with obs-fold", "0\r\nX-T: y\r\n z\r\n\r\n", broken),
            ("a trailer with NUL", "0\r\nX-T: a\0b\r\n\r\n", broken),
            ("a trailer with a bare CR", "0\r\nX-T: a\rb\r\n\r\n", broken),
            ("a trailer with an empty name", "0\r\n: y\r\n\r\n", broken),
            ("a trailer name that is not a token", "0\r\nX(T): y\r\n\r\n", Forwards),
        };
        foreach (var (name, body, kestrel) in trailers)
        {
            yield return new(Group, name, Head + "5\r\nhello\r\n" + body, 400, kestrel, Streams: true);
        }
    }

    private static IEnumerable<Shape> HostAndLimitShapes()
    {
        const string Get = "GET {M} HTTP/1.1\r\n";

        // RFC 9112 section 3.2: 400 for no Host, several, or one whose value is not a valid uri-host [ ":" port ].
        foreach (var (name, hosts, kestrel) in new[]
        {
            ("no Host", "", Refuses(400)),
            ("two Hosts, the same", "Host: t\r\nHost: t\r\n", Refuses(400)),
            ("two Hosts, different", "Host: t\r\nHost: u\r\n", Refuses(400)),
            ("a Host with a space", "Host: a b\r\n", Refuses(400)),
            ("a Host with a slash", "Host: a/b\r\n", Refuses(400)),
            ("a Host with userinfo", "Host: u@t\r\n", Refuses(400)),
            ("a Host with a quote", "Host: a\"b\r\n", Refuses(400)),
            ("a Host with a backslash", "Host: a\\b\r\n", Refuses(400)),
            ("a Host with a query", "Host: t?x\r\n", Refuses(400)),
            ("a Host with a fragment", "Host: t#x\r\n", Refuses(400)),
            ("a Host with UTF-8", "Host: caf\u00c3\u00a9\r\n", Refuses(400)),
            ("a Host that is only '@'", "Host: @\r\n", Refuses(400)),
            ("a Host with letters in the port", "Host: t:abc\r\n", Refuses(400)),
            ("a Host with a port and letters", "Host: t:80a\r\n", Refuses(400)),
            ("a Host with a negative port", "Host: t:-1\r\n", Refuses(400)),
            ("a Host with a signed port", "Host: t:+80\r\n", Refuses(400)),
            ("a Host with two ports", "Host: t:80:80\r\n", Refuses(400)),
            ("a Host with an unclosed bracket", "Host: [::1\r\n", Refuses(400)),
            ("a Host with something after the bracket", "Host: [::1]x\r\n", Refuses(400)),
            ("a Host with a bracket that is not an address", "Host: [zz]\r\n", Refuses(400)),
            ("a Host with an invalid percent-encoding", "Host: %zz\r\n", Refuses(400)),
            ("a Host ending in '%'", "Host: t%\r\n", Refuses(400)),
            ("a Host that is a list of two", "Host: t:80,t:81\r\n", Refuses(400)),
            // RFC 3986's reg-name allows sub-delims and percent-encoding, and port = *DIGIT, but the native codec takes
            // only names, IPv4 and IPv6 addresses with a port of 1 to 5 digits up to 65535 (RequestHeadParser.IsValidHost):
            // no backend serves such a host, and servers read them differently. A comma, for one, makes two hosts of the
            // X-Forwarded-Host the value goes on as.
            ("a Host with a comma", "Host: t,u\r\n", Refuses(400)),
            ("a Host with ';'", "Host: t;u\r\n", Refuses(400)),
            ("a Host with '='", "Host: t=u\r\n", Refuses(400)),
            ("a Host with '*'", "Host: t*\r\n", Refuses(400)),
            ("a Host with the sub-delims Kestrel takes", "Host: t!u$v&w'x(y)z\r\n", Forwards),
            ("a Host with a percent-encoding", "Host: T%41\r\n", Refuses(400)),
            ("a Host with an IPvFuture literal", "Host: [v1.x]\r\n", Refuses(400)),
            ("a Host with an empty port", "Host: t:\r\n", Refuses(400)),
            ("a Host with an empty port after an IPv6 literal", "Host: [::1]:\r\n", Refuses(400)),
            ("a Host with only a port", "Host: :80\r\n", Refuses(400)),
            ("a Host with port 65536", "Host: t:65536\r\n", Forwards),
            ("a Host with a port of 6 digits", "Host: t:999999\r\n", Forwards),
        })
        {
            yield return new("host", name, Get + hosts + Close + "\r\n", 400, kestrel);
        }

        const string Group = "limits";
        var headers = (int count) => string.Concat(Enumerable.Range(0, count).Select(i => $"X-H{i}: v\r\n"));
        foreach (var (name, lines) in new[]
        {
            ("25 headers (over max_headers)", headers(25)),
            ("45 headers (over the codec ceiling)", headers(45)),
            ("500 headers", headers(500)),
            ("a 5 KiB header (over max_header_bytes)", "X-Big: " + new string('b', 5 * 1024) + "\r\n"),
            ("a 9 KiB header (over the codec ceiling)", "X-Big: " + new string('b', 9 * 1024) + "\r\n"),
            ("a 64 KiB header", "X-Big: " + new string('b', 64 * 1024) + "\r\n"),
            ("5 KiB in ten headers", string.Concat(Enumerable.Range(0, 10).Select(i => $"X-H{i}: {new string('v', 500)}\r\n"))),
            ("a 5 KiB header name", new string('N', 5 * 1024) + ": v\r\n"),
        })
        {
            yield return new(Group, name, Get + "Host: t\r\n" + lines + Close + "\r\n", 431, Refuses(431));
        }
    }

    private static string Escape(string text) => string.Concat(text.Select(c => c switch
    {
        '\r' => "\\r",
        '\n' => "\\n",
        < ' ' or > '~' => $"\\x{(int)c:X2}",
        _ => c.ToString(),
    }));

    // =====================================================================================================
    // Talking to the gateways, reading what they answer.
    // =====================================================================================================

    /// <summary>A backend and two gateways on one config: one on the native codec, one on Kestrel's.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private Rig(RecordingBackend backend, TestGateway native, TestGateway kestrel)
        {
            Backend = backend;
            Native = native;
            Kestrel = kestrel;
        }

        public RecordingBackend Backend { get; }

        public TestGateway Native { get; }

        public TestGateway Kestrel { get; }

        public static async Task<Rig> StartAsync()
        {
            var backend = new RecordingBackend();
            var native = await TestGateway.StartOnCodecAsync("native", Config(backend.Url));
            var kestrel = await TestGateway.StartOnCodecAsync("kestrel", Config(backend.Url));
            return new Rig(backend, native, kestrel);
        }

        public async ValueTask DisposeAsync()
        {
            await Native.DisposeAsync();
            await Kestrel.DisposeAsync();
            Backend.Dispose();
        }
    }

    private readonly record struct Exchanged(byte[] Bytes, bool Closed);

    /// <summary>
    /// Sends raw bytes on a new connection and reads until the gateway closes it (or the time is up). With
    /// <paramref name="waitForContinue"/>, the body is held back until an interim answer arrives, as a client would.
    /// </summary>
    private static async Task<Exchanged> ExchangeAsync(int port, byte[] request, TimeSpan timeout, bool waitForContinue = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        using var cancel = new CancellationTokenSource(timeout);
        var headLength = waitForContinue ? request.AsSpan().IndexOf("\r\n\r\n"u8) + 4 : request.Length;
        var sending = SendAsync(socket, request.AsMemory(0, headLength), cancel.Token);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var closed = false;
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (headLength < request.Length && Wire.GetString(received.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    await sending;
                    sending = SendAsync(socket, request.AsMemory(headLength), cancel.Token);
                    headLength = request.Length;
                }
            }

            closed = true;
        }
        catch (SocketException)
        {
            // A reset after the answer: the gateway closed without reading everything sent.
            closed = true;
        }
        catch (OperationCanceledException)
        {
        }

        await sending;
        return new Exchanged(received.ToArray(), closed);
    }

    private static async Task SendAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancel)
    {
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None, cancel);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The gateway may refuse and close before it has read everything.
        }
    }

    /// <summary>The status of the first response (0 when there is no HTTP/1.x status line).</summary>
    private static int StatusOf(byte[] response)
    {
        var text = Wire.GetString(response);
        return text.Length >= 12 && text.StartsWith("HTTP/1.", StringComparison.Ordinal) && int.TryParse(text.AsSpan(9, 3), CultureInfo.InvariantCulture, out var status)
            ? status
            : 0;
    }

    private static string Show(byte[] bytes)
    {
        var text = Escape(Wire.GetString(bytes, 0, Math.Min(bytes.Length, 600)));
        return bytes.Length == 0 ? "(nothing)" : bytes.Length > 600 ? text + "..." : text;
    }

    /// <summary>A final answer as the client sees it: status and body (the request id in a problem document left out, it is per request).</summary>
    private readonly record struct Answer(int Status, string Body)
    {
        public override string ToString() => $"{Status} '{Body}'";
    }

    private static List<Answer> ParseResponses(byte[] data, IReadOnlyList<string> methods, out int interim)
    {
        var text = Wire.GetString(data);
        var answers = new List<Answer>();
        interim = 0;
        var position = 0;
        while (position < text.Length)
        {
            var headEnd = text.IndexOf("\r\n\r\n", position, StringComparison.Ordinal);
            if (headEnd < position + 12 || !int.TryParse(text.AsSpan(position + 9, 3), CultureInfo.InvariantCulture, out var status))
            {
                answers.Add(new Answer(0, "unreadable: " + text[position..]));
                break;
            }

            var head = text[position..headEnd];
            position = headEnd + 4;
            if (status < 200)
            {
                interim++;
                continue;
            }

            string body;
            var isHead = answers.Count < methods.Count && methods[answers.Count] == "HEAD";
            var length = ContentLengthLine().Match(head);
            if (isHead || status is 204 or 304)
            {
                body = "";
            }
            else if (ChunkedLine().IsMatch(head))
            {
                var end = text.IndexOf("\r\n0\r\n\r\n", position, StringComparison.Ordinal);
                var chunked = end < 0 ? text[position..] : text[position..(end + 7)];
                body = DecodeChunked(chunked);
                position += chunked.Length;
            }
            else if (length.Success)
            {
                var count = Math.Min(int.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture), text.Length - position);
                body = text.Substring(position, count);
                position += count;
            }
            else
            {
                body = text[position..];
                position = text.Length;
            }

            answers.Add(new Answer(status, RequestIdInProblem().Replace(body, "\"request_id\":\"<id>\"")));
        }

        return answers;
    }

    [GeneratedRegex("\"request_id\":\"[^\"]*\"")]
    private static partial Regex RequestIdInProblem();

    [GeneratedRegex(@"\r\nContent-Length: *(\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex ContentLengthLine();

    [GeneratedRegex(@"\r\nTransfer-Encoding: *chunked", RegexOptions.IgnoreCase)]
    private static partial Regex ChunkedLine();

    /// <summary>The methods of the requests in a valid corpus entry, in order (to know which answers have no body).</summary>
    private static List<string> RequestMethods(byte[] requests)
    {
        var methods = new List<string>();
        var position = 0;
        while (position < requests.Length)
        {
            while (requests.AsSpan(position).StartsWith("\r\n"u8))
            {
                position += 2;
            }

            var end = RequestEnd(requests, position, out var method, out _, out _);
            if (end < 0)
            {
                break;
            }

            methods.Add(method);
            position = end;
        }

        return methods;
    }

    /// <summary>
    /// Where the request starting at <paramref name="start"/> ends (its head, then a Content-Length or chunked body), or
    /// -1 when it is not complete in <paramref name="data"/>. Meant for well-formed requests only: the corpus's and the gateway's.
    /// </summary>
    private static int RequestEnd(ReadOnlySpan<byte> data, int start, out string method, out bool close, out bool expectContinue)
    {
        method = "";
        close = false;
        expectContinue = false;
        var headEnd = data[start..].IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return -1;
        }

        var lines = Wire.GetString(data.Slice(start, headEnd)).Split("\r\n");
        method = lines[0].Split(' ')[0];
        var chunked = false;
        long length = 0;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].Trim();
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Equals("chunked", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                length = long.Parse(value, CultureInfo.InvariantCulture);
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                close |= value.Contains("close", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals("Expect", StringComparison.OrdinalIgnoreCase))
            {
                expectContinue = value.Equals("100-continue", StringComparison.OrdinalIgnoreCase);
            }
        }

        var position = start + headEnd + 4;
        if (!chunked)
        {
            return data.Length - position >= length ? position + (int)length : -1;
        }

        while (true)
        {
            var lineEnd = data[position..].IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                return -1;
            }

            var size = int.Parse(Wire.GetString(data.Slice(position, lineEnd)).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            position += lineEnd + 2;
            if (size == 0)
            {
                // Trailer lines, up to the empty one.
                while (true)
                {
                    lineEnd = data[position..].IndexOf("\r\n"u8);
                    if (lineEnd < 0)
                    {
                        return -1;
                    }

                    position += lineEnd + 2;
                    if (lineEnd == 0)
                    {
                        return position;
                    }
                }
            }

            if (data.Length - position < size + 2)
            {
                return -1;
            }

            position += size + 2;
        }
    }

    // =====================================================================================================
    // The recording backend.
    // =====================================================================================================

    /// <summary>One request as the backend read it off the wire: its exact bytes, and whether it arrived whole.</summary>
    private sealed record Received(byte[] Bytes, bool Complete)
    {
        /// <summary>The request line names this shape's path (exactly: not a longer one with the same start).</summary>
        public bool Names(string marker)
        {
            var text = Wire.GetString(Bytes);
            var at = text.IndexOf(marker, StringComparison.Ordinal);
            return at >= 0 && (at + marker.Length == text.Length || !char.IsAsciiDigit(text[at + marker.Length]));
        }
    }

    /// <summary>
    /// A backend on a raw socket that keeps the exact bytes of every request it receives (keep-alive, Content-Length and
    /// chunked bodies, <c>Expect: 100-continue</c>) and answers 200 with a body naming what it read. What a connection
    /// holds that is not a whole request is kept too: when the connection ends, and while it is open.
    /// </summary>
    private sealed class RecordingBackend : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Socket> _open = [];
        private readonly List<Received> _received = [];
        private readonly Dictionary<Socket, byte[]> _pending = [];
        private long _bytes;

        /// <summary>How many requests were recorded and bytes received up to a moment.</summary>
        public readonly record struct Position(int Requests, long Bytes);

        public RecordingBackend()
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start(1024);
            _ = AcceptLoopAsync();
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public Position Mark()
        {
            lock (_received)
            {
                return new Position(_received.Count, _bytes);
            }
        }

        /// <summary>The requests recorded since <paramref name="mark"/>.</summary>
        public Received[] Since(Position mark)
        {
            lock (_received)
            {
                return [.. _received.Skip(mark.Requests)];
            }
        }

        /// <summary>
        /// The requests recorded since <paramref name="mark"/> and what open connections hold, once what was sent has had a
        /// moment to arrive (the gateways have answered by now; a forwarded byte would already be on its way).
        /// </summary>
        public async Task<(Received[] Requests, long Bytes)> SettledSinceAsync(Position mark)
        {
            await Task.Delay(200);
            lock (_received)
            {
                return ([.. _received.Skip(mark.Requests), .. _pending.Values.Where(p => p.Length > 0).Select(p => new Received(p, false))], _bytes - mark.Bytes);
            }
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    lock (_open)
                    {
                        _open.Add(socket);
                    }

                    _ = Task.Run(() => ServeAsync(socket));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private void Record(Socket socket, byte[] bytes, int length, bool complete)
        {
            lock (_received)
            {
                _received.Add(new Received(bytes.AsSpan(0, length).ToArray(), complete));
                _pending.Remove(socket);
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            var pending = new byte[64 * 1024];
            var length = 0;
            try
            {
                while (true)
                {
                    int end;
                    var continued = false;
                    while ((end = RequestEnd(pending.AsSpan(0, length), 0, out _, out _, out var expect)) < 0)
                    {
                        if (expect && !continued)
                        {
                            // The head asked for an interim answer, and the body is held back for it.
                            continued = true;
                            await socket.SendAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray());
                        }

                        if (!await FillAsync())
                        {
                            return;
                        }
                    }

                    RequestEnd(pending.AsSpan(0, length), 0, out var method, out var close, out _);
                    Record(socket, pending, end, complete: true);
                    var target = Wire.GetString(pending, 0, end).Split(' ') is [_, var t, ..] ? t : "";
                    var body = $"{method} {target} seen";
                    var response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nX-Backend: recorded\r\n\r\n{(method == "HEAD" ? "" : body)}";
                    await socket.SendAsync(Wire.GetBytes(response));
                    pending.AsSpan(end, length - end).CopyTo(pending);
                    length -= end;
                    if (length > 0)
                    {
                        lock (_received)
                        {
                            _pending[socket] = pending.AsSpan(0, length).ToArray();
                        }
                    }
                    if (close)
                    {
                        socket.Shutdown(SocketShutdown.Send);
                        while (await FillAsync())
                        {
                        }

                        return;
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or FormatException or OverflowException)
            {
                if (length > 0)
                {
                    Record(socket, pending, length, complete: false);
                }
            }
            finally
            {
                lock (_received)
                {
                    _pending.Remove(socket);
                }

                socket.Dispose();
            }

            async Task<bool> FillAsync()
            {
                if (length == pending.Length)
                {
                    Array.Resize(ref pending, pending.Length * 2);
                }

                var read = await socket.ReceiveAsync(pending.AsMemory(length), SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    if (length > 0)
                    {
                        Record(socket, pending, length, complete: false);
                        length = 0;
                    }

                    return false;
                }

                length += read;
                lock (_received)
                {
                    _bytes += read;
                    _pending[socket] = pending.AsSpan(0, length).ToArray();
                }

                return true;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_open)
            {
                foreach (var socket in _open)
                {
                    socket.Dispose();
                }
            }

            _stop.Dispose();
        }
    }
}
