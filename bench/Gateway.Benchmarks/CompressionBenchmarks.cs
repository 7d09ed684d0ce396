using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Compression;
using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Benchmarks;

/// <summary>
/// One 10 KB JSON body through the compression filter per coding, as a sender writes it (two backend reads, a flush
/// after each, then the end of the body), and the response side's decision with a browser's Accept-Encoding.
/// </summary>
[MemoryDiagnoser]
public class CompressionBenchmarks
{
    private byte[] _body = null!;
    private Exchange _exchange = null!;
    private ContentCoding _coding = null!;
    private CompressionPolicy _policy = null!;
    private HeaderDictionary _response = null!;
    private readonly StringValues _acceptEncoding = "gzip, deflate, br, zstd";

    [Params("gzip", "br", "zstd")]
    public string Coding { get; set; } = "gzip";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var text = new StringBuilder("[");
        while (text.Length < 10_000)
        {
            text.Append("{\"id\":").Append(random.Next(1_000_000)).Append(",\"name\":\"item-").Append(random.Next(10_000))
                .Append("\",\"price\":").Append(random.Next(100_000) / 100.0).Append(",\"in_stock\":true},");
        }

        text.Length = 9_999;
        text.Append(']');
        _body = Encoding.ASCII.GetBytes(text.ToString());
        var loaded = ConfigLoader.LoadText("routes:\n  - {path: /a, mock: {status: 200}}\n", "b.yaml", ".", _ => null);
        var config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _exchange = new Exchange(new OfflineChannel(), config, TimeProvider.System, HttpMethods.Get, "/a", new HeaderDictionary());
        _coding = ContentCoding.ByPreference.First(c => c.Name == Coding);
        _policy = new CompressionPolicy(1024, MediaTypeSet.Build(new CompressionConfig().Types), Global: true);
        _response = new HeaderDictionary { ["Content-Type"] = "application/json; charset=utf-8" };
    }

    /// <summary>Encodes the body; returns the bytes that went out.</summary>
    [Benchmark]
    public async Task<long> Encode10KbJson()
    {
        var filter = new CompressionFilter(_exchange, _coding);
        var stream = filter.Wrap(Stream.Null);
        await stream.WriteAsync(_body.AsMemory(0, 5_000));
        await stream.FlushAsync();
        await stream.WriteAsync(_body.AsMemory(5_000));
        await stream.FlushAsync();
        await filter.CompleteAsync(CancellationToken.None);
        return _exchange.ResponseBytes!.Value;
    }

    [Benchmark]
    public string? Decide() => CompressionStage.Decide(200, _response, 10_000, _acceptEncoding, _policy).Coding?.Name;
}
