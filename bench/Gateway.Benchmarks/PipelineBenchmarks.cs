using System.IO.Pipelines;
using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Logging;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// The gateway's own per-request work without any network: building the exchange, running every stage on it (request
/// context, limits, route match, and a mock answer written to a null body), and the access-log line. Auth, rate
/// limiting, matching and normalization have their own benchmarks.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private RuntimeConfig _config = null!;
    private IHeaderDictionary _headers = null!;
    private AccessLog _accessLog = null!;
    private AccessLog _textAccessLog = null!;
    private StageRunner _runner = null!;
    private Exchange _done = null!;

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.LoadText("""
            logging: {access_log: false}
            routes:
              - {path: "/api/users/:id", methods: [GET], mock: {status: 200, body: "{}"}}
            """, "b.yaml", ".", _ => null);
        _config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _headers = new HeaderDictionary
        {
            ["Host"] = "api.example.com",
            ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            ["Accept"] = "application/json",
            ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
        _accessLog = new AccessLog(new LogSink(Stream.Null), TimeProvider.System);
        _textAccessLog = new AccessLog(new LogSink(Stream.Null), TimeProvider.System, text: true);
        _runner = new StageRunner(NullLogger.Instance);
        // The access-log line is measured on an exchange of a config that logs (the one above does not, so that the
        // whole-stage-list figure leaves the line out).
        var logged = ConfigLoader.LoadText("""
            routes:
              - {path: "/api/users/:id", methods: [GET], mock: {status: 200, body: "{}"}}
            """, "b.yaml", ".", _ => null);
        _done = NewExchange(ConfigCompiler.Compile(logged.Config!, 1, DateTimeOffset.UnixEpoch));
        _runner.RunAsync(_done).GetAwaiter().GetResult();
    }

    private Exchange NewExchange(RuntimeConfig? config = null) => new(new NullChannel(), config ?? _config, TimeProvider.System, HttpMethods.Get, "/api/users/42", _headers)
    {
        Peer = IPAddress.Loopback,
    };

    [Benchmark]
    public ValueTask WholeStageList() => _runner.RunAsync(NewExchange());

    [Benchmark]
    public int ResolveRoute() => Routing.RouteResolver.Resolve(_config, NewExchange()).Status;

    [Benchmark]
    public void AccessLogLine() => _accessLog.Write(_done, LogRedaction.Default);

    [Benchmark]
    public void AccessLogTextLine() => _textAccessLog.Write(_done, LogRedaction.Default);

    /// <summary>A codec that keeps nothing: what the stages cost on their own.</summary>
    /// <summary>A codec that sends nothing anywhere; it keeps the response headers (in the dictionary given, if any).</summary>
    internal sealed class NullChannel(HeaderDictionary? headers = null) : IClientChannel
    {
        private static readonly PipeWriter Body = PipeWriter.Create(Stream.Null);

        private HeaderDictionary? _headers = headers;

        public PipeReader RequestBody => throw new NotSupportedException();

        public CancellationToken Aborted => CancellationToken.None;

        public HttpContext? HttpContext => null;

        public int Status { get; set; } = 200;

        public IHeaderDictionary ResponseHeaders => _headers ??= new HeaderDictionary();

        public long? ResponseContentLength { get; set; }

        public bool ResponseStarted => false;

        public PipeWriter ResponseBody => Body;

        public Stream ResponseStream { get; set; } = Stream.Null;

        public void LimitRequestBody(long max)
        {
        }

        public Task StartResponseAsync(CancellationToken cancel) => Task.CompletedTask;

        public void ClearResponse() => _headers?.Clear();

        public void Abort()
        {
        }
    }
}
