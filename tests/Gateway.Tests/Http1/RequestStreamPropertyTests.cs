using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CsCheck;
using Gateway.Http1;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Http1Parser = Gateway.Forwarding.Http1.Http1Parser;

namespace Gateway.Tests.Http1;

/// <summary>
/// Properties of the request stream on the gateway's own codec: however a stream of valid requests is cut into reads,
/// the backend receives the same requests as when it arrives in one piece; pipelined requests to mock and backend
/// routes are answered in order, each with its own answer. The head parser is also checked directly on the same
/// generated requests.
/// </summary>
public sealed class RequestStreamPropertyTests
{
    /// <summary>Markers all have this length, so that offsets printed for a failure are those of the stream sent.</summary>
    private const string SampleMarker = "m00000000";

    private static long _markers;

    private enum Framing : byte
    {
        None,
        Length,
        Chunked,
    }

    private sealed record Field(string Name, string Value, string Before, string After);

    private sealed record Body(Framing Framing, byte[] Data, int[] Chunks, bool Extensions, bool Trailer, bool UpperHex)
    {
        public static readonly Body Empty = new(Framing.None, [], [], false, false, false);
    }

    /// <summary>
    /// One valid request: what it means (method, target, fields, body) and how it is spelled on the wire, with
    /// <paramref name="Leading"/> empty lines before it (RFC 9112 section 2.2 asks servers to ignore at least one).
    /// </summary>
    private sealed record Request(string Method, string Target, Field[] Fields, Body Body, int Leading = 0)
    {
        public byte[] Head(string marker)
        {
            var head = new StringBuilder();
            head.Append(Method).Append(' ').Append(Target).Append(" HTTP/1.1\r\nHost: gateway.test\r\nX-Request-Id: ").Append(marker).Append("\r\n");
            foreach (var field in Fields)
            {
                head.Append(field.Name).Append(':').Append(field.Before).Append(field.Value).Append(field.After).Append("\r\n");
            }

            switch (Body.Framing)
            {
                case Framing.Length:
                    head.Append("Content-Length: ").Append(Body.Data.Length).Append("\r\n");
                    break;
                case Framing.Chunked:
                    head.Append("Transfer-Encoding: chunked\r\n");
                    break;
            }

            return Encoding.ASCII.GetBytes(head.Append("\r\n").ToString());
        }

        public byte[] Wire(string marker)
        {
            var wire = new MemoryStream();
            for (var i = 0; i < Leading; i++)
            {
                wire.Write("\r\n"u8);
            }

            wire.Write(Head(marker));
            if (Body.Framing == Framing.Length)
            {
                wire.Write(Body.Data);
            }
            else if (Body.Framing == Framing.Chunked)
            {
                var at = 0;
                foreach (var size in Body.Chunks)
                {
                    var hex = size.ToString(Body.UpperHex ? "X" : "x", CultureInfo.InvariantCulture);
                    wire.Write(Encoding.ASCII.GetBytes(hex + (Body.Extensions ? ";ext=\"v\"" : "") + "\r\n"));
                    wire.Write(Body.Data, at, size);
                    wire.Write("\r\n"u8);
                    at += size;
                }

                wire.Write(Body.Trailer ? "0\r\nX-Trailer: t\r\n\r\n"u8 : "0\r\n\r\n"u8);
            }

            return wire.ToArray();
        }

        /// <summary>The head as sent (CR and LF spelled out) and what its body is.</summary>
        public override string ToString()
        {
            var head = Encoding.ASCII.GetString(Head(SampleMarker)).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
            var body = Body.Framing switch
            {
                Framing.Length => $"{Body.Data.Length} bytes",
                Framing.Chunked => $"chunks [{string.Join(',', Body.Chunks)}]{(Body.Extensions ? " with extensions" : "")}{(Body.Trailer ? " and a trailer" : "")}",
                _ => "no body",
            };
            return $"{string.Concat(Enumerable.Repeat("\\r\\n", Leading))}{head}<{body}; {Wire(SampleMarker).Length} bytes in all>";
        }
    }

    private const string Unreserved = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~";

    private static readonly Gen<string> Segment = Gen.String[Gen.Char[Unreserved], 1, 8];

    private static readonly Gen<string> Query = Gen.Select(Gen.String[Gen.Char[Unreserved], 1, 6], Gen.String[Gen.Char[Unreserved + ".="], 0, 8])
        .Select((k, v) => k + "=" + v).Array[0, 3]
        .Select(pairs => pairs.Length == 0 ? "" : "?" + string.Join('&', pairs));

    private static readonly Gen<string> EchoTarget = Gen.Select(Segment.Array[1, 4], Gen.Bool, Query)
        .Select((segments, slash, query) => "/e/" + string.Join('/', segments) + (slash ? "/" : "") + query);

    private static readonly Gen<string> NameCase = Gen.OneOfConst("X-P", "x-p", "X-p");

    /// <summary>Visible ASCII with spaces and tabs inside (never at the ends, where they are optional whitespace).</summary>
    private static readonly Gen<string> FieldValue = Gen.String[Gen.Frequency((6, Gen.Char[(char)0x21, (char)0x7E]), (1, Gen.Char[" \t"])), 0, 40]
        .Select(v => v.Trim(' ', '\t'));

    private static readonly Gen<Field[]> Fields = Gen.Select(NameCase, Gen.String[Gen.Char[Unreserved + "!#$%&'*+.^`|"], 1, 12], FieldValue,
            Gen.OneOfConst("", " ", "  ", "\t", " \t "), Gen.OneOfConst("", "", " ", "\t", "  "))
        .Array[0, 8]
        .Select(fields => fields.Select((f, i) => new Field($"{f.Item1}{i}-{f.Item2}", f.Item3, f.Item4, f.Item5)).ToArray());

    private static readonly Gen<Body> LengthBody = Gen.Byte.Array[0, 30_000].Select(data => new Body(Framing.Length, data, [], false, false, false));

    private static readonly Gen<Body> ChunkedBody = Gen.Select(Gen.Int[1, 9_000].Array[0, 4], Gen.Bool, Gen.Bool, Gen.Bool)
        .SelectMany((chunks, extensions, trailer, upper) => Gen.Byte.Array[chunks.Sum()]
            .Select(data => new Body(Framing.Chunked, data, chunks, extensions, trailer, upper)));

    private static readonly Gen<int> LeadingLines = Gen.Frequency((4, Gen.Const(0)), (1, Gen.Int[1, 2]));

    private static readonly Gen<Request> EchoRequest = Gen.OneOf(
        Gen.Select(Gen.OneOfConst("GET", "DELETE", "OPTIONS", "PURGE"), EchoTarget, Fields, LeadingLines).Select((m, t, f, l) => new Request(m, t, f, Body.Empty, l)),
        Gen.Select(Gen.OneOfConst("POST", "PUT", "PATCH"), EchoTarget, Fields, Gen.Frequency((1, Gen.Const(Body.Empty)), (3, LengthBody), (3, ChunkedBody)), LeadingLines)
            .Select((m, t, f, b, l) => new Request(m, t, f, b, l)));

    /// <summary>
    /// Where a stream is cut: anywhere (snap 0), or at the next line end from there: before its CR (1), between CR and
    /// LF (2) or after the LF (3).
    /// </summary>
    private static readonly Gen<(double At, int Snap)[]> Cuts = Gen.Select(Gen.Double[0, 1], Gen.Int[0, 3]).Array[1, 16];

    private static string Config(string codec, string backendUrl) => $$$"""
        server: {host: 127.0.0.1, port: 0, http1_codec: {{{codec}}}}
        routes:
          - {path: /m/a, mock: {status: 200, body: "mock a"}}
          - {path: /m/b, mock: {status: 200, headers: {X-Mock: b}, body: "mock b, longer"}}
          - {path: "/e/*rest", backend: "{{{backendUrl}}}"}
        """;

    /// <summary>A backend that echoes the request as JSON with the SHA-256 of its body in <c>X-Body-Sha256</c>.</summary>
    private static Task<TestBackend> StartHashEchoAsync() => TestBackend.StartAsync(async context =>
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long bodyBytes = 0;
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            bodyBytes += read;
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Request.Headers)
        {
            headers[name] = value.ToString();
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new EchoedRequest(context.Request.Method, context.Features.Get<IHttpRequestFeature>()!.RawTarget, headers, bodyBytes));
        context.Response.Headers["X-Body-Sha256"] = Convert.ToHexString(hash.GetHashAndReset());
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    });

    private static string Marker(char prefix) => prefix + Interlocked.Increment(ref _markers).ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>The backend received exactly what the generated request means.</summary>
    private static void AssertForwarded(Request request, string marker, WireResponse response)
    {
        Assert.Equal(200, response.Status);
        Assert.Equal(marker, response.Header("X-Request-Id"));
        var echo = EchoedRequest.Parse(response.Text);
        Assert.Equal(request.Method, echo.Method);
        Assert.Equal(request.Target, echo.Target);
        Assert.Equal(marker, echo.Header("X-Request-Id"));
        foreach (var field in request.Fields)
        {
            Assert.True(echo.Header(field.Name) == field.Value, $"{field.Name}: expected '{field.Value}', the backend got '{echo.Header(field.Name)}'");
        }

        Assert.Equal(request.Body.Data.Length, echo.BodyBytes);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(request.Body.Data)), response.Header("X-Body-Sha256"));
    }

    /// <summary>What the backend saw, without what the gateway makes up per request (trace ids).</summary>
    private static string Seen(WireResponse response)
    {
        var echo = EchoedRequest.Parse(response.Text);
        var headers = echo.Headers.Where(h => !h.Key.StartsWith("trace", StringComparison.OrdinalIgnoreCase)).OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase);
        return $"{echo.Method} {echo.Target} {echo.BodyBytes} {response.Header("X-Body-Sha256")}\n" + string.Join('\n', headers.Select(h => $"{h.Key.ToLowerInvariant()}: {h.Value}"));
    }

    private static int[] CutPositions(byte[] wire, (double At, int Snap)[] cuts)
    {
        var positions = new SortedSet<int>();
        foreach (var (at, snap) in cuts)
        {
            var position = (int)(at * wire.Length);
            if (snap != 0)
            {
                var cr = Array.IndexOf(wire, (byte)'\r', Math.Min(position, wire.Length - 1));
                position = cr < 0 ? position : cr + snap - 1;
            }

            if (position > 0 && position < wire.Length)
            {
                positions.Add(position);
            }
        }

        return [.. positions];
    }

    [Fact]
    public async Task Any_split_of_a_request_stream_across_reads_is_forwarded_as_when_it_arrives_whole()
    {
        await using var backend = await StartHashEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync("native", Config("native", backend.Url));
        await Gen.Select(EchoRequest.Array[1, 3], Cuts).SampleAsync(async (requests, cuts) =>
        {
            var markers = requests.Select(_ => Marker('s')).ToArray();
            var wire = requests.SelectMany((r, i) => r.Wire(markers[i])).ToArray();

            using var whole = await WireClient.ConnectAsync(gateway.Port);
            await whole.SendAsync(wire);
            var expected = new List<string>();
            for (var i = 0; i < requests.Length; i++)
            {
                var response = await whole.ReadAsync();
                AssertForwarded(requests[i], markers[i], response);
                expected.Add(Seen(response));
            }

            // The same bytes in pieces, each its own read on the gateway's side (no Nagle, a pause between them).
            using var split = await WireClient.ConnectAsync(gateway.Port);
            var start = 0;
            foreach (var position in CutPositions(wire, cuts).Append(wire.Length))
            {
                await split.SendAsync(wire.AsMemory(start, position - start));
                start = position;
                await Task.Delay(3);
            }

            for (var i = 0; i < requests.Length; i++)
            {
                var response = await split.ReadAsync();
                Assert.False(response.SaysClose);
                AssertForwarded(requests[i], markers[i], response);
                Assert.Equal(expected[i].Replace(markers[i], "", StringComparison.Ordinal), Seen(response).Replace(markers[i], "", StringComparison.Ordinal));
            }

            Assert.Equal(0, split.Buffered);
        }, iter: 100, threads: 2, print: t => $"cuts at {string.Join(',', CutPositions(t.Item1.SelectMany(r => r.Wire(SampleMarker)).ToArray(), t.Item2))} of {string.Join(" ++ ", t.Item1.Select(r => r.ToString()))}");
    }

    /// <summary>One request of a pipeline: to which route, which method, with which body.</summary>
    private sealed record Piped(string Route, Request Request);

    private static readonly Gen<Piped> PipedRequest = Gen.OneOf(
        Gen.Select(Gen.OneOfConst("/m/a", "/m/b"), Gen.OneOfConst("GET", "HEAD", "POST"), Gen.Frequency((1, Gen.Const(Body.Empty)), (2, LengthBody)))
            .Select((route, method, body) => new Piped(route, new Request(method, route, [], method == "POST" ? body : Body.Empty))),
        Gen.Select(EchoTarget, Gen.OneOfConst("GET", "HEAD", "POST"), Fields, Gen.Frequency((1, Gen.Const(Body.Empty)), (2, LengthBody), (2, ChunkedBody)))
            .Select((target, method, fields, body) => new Piped("/e", new Request(method, target, fields, method == "POST" ? body : Body.Empty))));

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Pipelined_requests_are_answered_in_order_each_with_its_own_answer(string codec)
    {
        await using var backend = await StartHashEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Config(codec, backend.Url));
        await PipedRequest.Array[2, 8].SampleAsync(async pipeline =>
        {
            var markers = pipeline.Select(_ => Marker('p')).ToArray();
            var end = Marker('z');
            var wire = pipeline.SelectMany((p, i) => p.Request.Wire(markers[i])).Concat(new Request("GET", "/m/a", [], Body.Empty).Wire(end)).ToArray();
            using var client = await WireClient.ConnectAsync(gateway.Port);
            await client.SendAsync(wire);
            for (var i = 0; i < pipeline.Length; i++)
            {
                var (route, request) = pipeline[i];
                var response = await client.ReadAsync(toHead: request.Method == "HEAD");
                Assert.True(response.Header("X-Request-Id") == markers[i], $"answer {i} carries {response.Header("X-Request-Id")}, not {markers[i]}");
                Assert.Equal(200, response.Status);
                Assert.False(response.SaysClose);
                if (request.Method == "HEAD")
                {
                    continue;
                }

                if (route == "/e")
                {
                    AssertForwarded(request, markers[i], response);
                }
                else
                {
                    Assert.Equal(route == "/m/a" ? "mock a" : "mock b, longer", response.Text);
                    Assert.Equal(route == "/m/b" ? "b" : null, response.Header("X-Mock"));
                }
            }

            // The last answer is the one to the closing GET, and nothing follows it (a HEAD answered with a body would
            // have shifted everything after it).
            var last = await client.ReadAsync();
            Assert.Equal(end, last.Header("X-Request-Id"));
            Assert.Equal("mock a", last.Text);
            Assert.Equal(0, client.Buffered);
        }, iter: 60, threads: 2, print: p => string.Join(" ++ ", p.Select(x => x.Request.ToString())));
    }

    private static readonly HeadLimits Limits = new(16448, 65536, 200);

    [Fact]
    public void The_end_of_a_head_is_found_at_the_same_place_however_it_arrives()
    {
        Gen.Select(EchoRequest, Cuts).Sample((request, cuts) =>
        {
            // The connection skips empty lines before a request line before it looks for the end of the head.
            var wire = (request with { Leading = 0 }).Wire(SampleMarker);
            var headLength = request.Head(SampleMarker).Length;
            var searched = 0;
            Assert.Equal(headLength, Http1Parser.FindHeadEnd(wire, ref searched));

            // Fed as a growing buffer, the way the connection sees it: "not yet" until the blank line is in, then its end.
            searched = 0;
            var found = Http1Parser.NeedMore;
            foreach (var position in CutPositions(wire, cuts).Append(wire.Length))
            {
                found = Http1Parser.FindHeadEnd(wire.AsSpan(0, position), ref searched);
                if (position < headLength)
                {
                    Assert.Equal(Http1Parser.NeedMore, found);
                }
                else
                {
                    Assert.Equal(headLength, found);
                    break;
                }
            }

            Assert.Equal(headLength, found);
        }, iter: 5_000, print: t => t.Item1.ToString());
    }

    [Fact]
    public void A_generated_head_parses_to_what_it_means()
    {
        EchoRequest.Sample(request =>
        {
            var into = new RequestHead();
            Assert.True(RequestHeadParser.TryParse(request.Head(SampleMarker), into, Limits, out var error), error.Detail);
            Assert.Equal(request.Method, into.Method);
            Assert.Equal(request.Target, into.RawTarget);
            Assert.False(into.Http10);
            Assert.True(into.KeepAlive);
            Assert.False(into.ExpectContinue || into.Upgrade);
            Assert.Equal("gateway.test", into.Headers["Host"].ToString());
            foreach (var field in request.Fields)
            {
                Assert.Equal(field.Value, into.Headers[field.Name].ToString());
            }

            var (framing, length) = request.Body.Framing switch
            {
                Framing.Chunked => (RequestFraming.Chunked, 0),
                Framing.Length when request.Body.Data.Length > 0 => (RequestFraming.ContentLength, request.Body.Data.Length),
                _ => (RequestFraming.None, 0),
            };
            Assert.Equal(framing, into.Framing);
            Assert.Equal(length, into.ContentLength);
        }, iter: 5_000, print: r => r.ToString());
    }
}
