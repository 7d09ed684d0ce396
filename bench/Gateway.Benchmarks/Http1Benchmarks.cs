using System.Buffers;
using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Forwarding.Http1;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Benchmarks;

/// <summary>
/// The HTTP/1.1 forwarder's own per-request work, without sockets: the upstream header rules for a typical browser
/// request, parsing a typical response head into the client's headers, and decoding a chunked body.
/// </summary>
[MemoryDiagnoser]
public class Http1Benchmarks
{
    private static readonly byte[] ResponseHead = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 09:00:00 GMT\r\nContent-Type: application/json\r\n"
        + "Content-Length: 100\r\nConnection: keep-alive\r\nETag: \"6b07e7a6-64\"\r\nCache-Control: no-cache\r\n\r\n");

    private static readonly byte[] Chunked = Encoding.ASCII.GetBytes(
        "400\r\n" + new string('a', 1024) + "\r\n400;ext=1\r\n" + new string('b', 1024) + "\r\n10\r\n" + new string('c', 16) + "\r\n0\r\n\r\n");

    private Exchange _exchange = null!;
    private UpstreamShape _shape = null!;
    private readonly ArrayBufferWriter<byte> _output = new(4096);

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.LoadText("routes:\n  - {path: \"/api/*rest\", backend: \"http://127.0.0.1:3000\"}\n", "b.yaml", ".", _ => null);
        var config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        OfflineChannel.TryCreate(config, "GET", "http://api.example.com/api/users", [
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "Accept: application/json",
            "Accept-Encoding: gzip, deflate, br",
            "Accept-Language: en-GB,en;q=0.9",
            "Cookie: session=abc; theme=dark",
        ], IPAddress.Loopback, out _exchange, out _);
        _exchange.RequestId = "01a2165a397478ec9788ea61e8cfea91";
        _exchange.Trace = TraceContext.From("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        _shape = config.Routes[0].Policy<ForwardPolicy>()!.Upstream!.Shape;
    }

    [Benchmark]
    public int UpstreamHeaderRules()
    {
        var sink = new CountingSink();
        UpstreamHeaders.Write(_exchange, _shape, "127.0.0.1:3000", StringValues.Empty, ref sink);
        return sink.Count;
    }

    [Benchmark]
    public long ParseResponseHead()
    {
        var headers = new HeaderDictionary();
        var searched = 0;
        var end = Http1Parser.FindHeadEnd(ResponseHead, ref searched);
        Http1Parser.TryReadStatus(ResponseHead.AsSpan(0, end), out var status, out var http10, out _);
        Http1Parser.TryParseHeaders(ResponseHead.AsSpan(0, end), status, http10, false, headers, out var head, out _);
        return head.ContentLength;
    }

    [Benchmark]
    public long DecodeChunkedBody()
    {
        _output.ResetWrittenCount();
        var decoder = new ChunkedDecoder();
        decoder.Decode(new ReadOnlySequence<byte>(Chunked), _output, out var written, out _);
        return written;
    }

    private struct CountingSink : IUpstreamHeaderSink
    {
        public int Count;

        public void Add(string name, StringValues values) => Count += values.Count;

        public void Dropped(string name)
        {
        }
    }
}
