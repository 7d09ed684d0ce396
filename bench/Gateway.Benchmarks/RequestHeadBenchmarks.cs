using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Http1;
using Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http;

namespace Gateway.Benchmarks;

/// <summary>
/// Reading a typical browser request head: the native codec's parser (strict checks and framing included, strings for
/// the method, target, names and values) against Kestrel's <c>HttpParser</c> with a handler that keeps the same strings.
/// Kestrel's figure leaves out the framing and validation its connection does after parsing, so it is a lower bound.
/// </summary>
[MemoryDiagnoser]
public class RequestHeadBenchmarks
{
    private static readonly byte[] Head = Encoding.ASCII.GetBytes(
        "GET /api/users/42?expand=orders HTTP/1.1\r\nHost: api.example.com\r\n"
        + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
        + "Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-GB,en;q=0.9\r\n"
        + "Cookie: session=abc; theme=dark\r\nX-API-Key: k-0123456789abcdef\r\nConnection: keep-alive\r\n\r\n");

    private readonly RequestHead _head = new();
    private readonly HttpParser<KeepStrings> _kestrel = new();
    private readonly KeepStrings _handler = new();
    private static readonly HeadLimits Limits = new(8192, 32768, 100);

    [Benchmark(Baseline = true)]
    public int Native()
    {
        RequestHeadParser.TryParse(Head, _head, Limits, out _);
        _head.Headers.Reset();
        return _head.RawTarget.Length;
    }

    [Benchmark]
    public int KestrelParser()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Head));
        _handler.Count = 0;
        _kestrel.ParseRequestLine(_handler, ref reader);
        _kestrel.ParseHeaders(_handler, ref reader);
        return _handler.Count;
    }

    private sealed class KeepStrings : IHttpRequestLineHandler, IHttpHeadersHandler
    {
        private readonly string[] _names = new string[32];
        private readonly string[] _values = new string[32];

        public int Count { get; set; }

        public string Target { get; private set; } = "";

        public void OnStartLine(HttpVersionAndMethod versionAndMethod, TargetOffsetPathLength targetPath, Span<byte> startLine) =>
            Target = Encoding.ASCII.GetString(startLine.Slice(targetPath.Offset, targetPath.Length));

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            _names[Count] = Encoding.ASCII.GetString(name);
            _values[Count++] = Encoding.UTF8.GetString(value);
        }

        public void OnHeadersComplete(bool endStream)
        {
        }

        public void OnStaticIndexedHeader(int index)
        {
        }

        public void OnStaticIndexedHeader(int index, ReadOnlySpan<byte> value)
        {
        }
    }
}
