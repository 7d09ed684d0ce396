using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Logging;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Benchmarks;

/// <summary>
/// The gateway's own per-request work around the forwarder: request context (id, trace), route resolution,
/// the access-log line. (Auth, rate limiting, matching and normalization have their own benchmarks.)
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private RuntimeConfig _config = null!;
    private DefaultHttpContext _context = null!;
    private AccessLog _accessLog = null!;
    private GatewayRequestFeature _feature = null!;
    private readonly StringValues _traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.LoadText("routes:\n  - {path: \"/api/users/:id\", backend: \"http://127.0.0.1:3000\", methods: [GET]}\n", "b.yaml", ".", _ => null);
        _config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _context = new DefaultHttpContext();
        _context.Request.Method = "GET";
        _context.Connection.RemoteIpAddress = IPAddress.Loopback;
        _accessLog = new AccessLog(new LogSink(Stream.Null), TimeProvider.System);
        _feature = new GatewayRequestFeature(_config, "01a2165a397478ec9788ea61e8cfea91", TraceContext.From(_traceparent), IPAddress.Loopback, 0)
        {
            Path = "/api/users/42",
            Route = _config.Routes[0],
        };
    }

    [Benchmark]
    public object RequestContext() =>
        new GatewayRequestFeature(_config, RequestIds.From(StringValues.Empty), TraceContext.From(_traceparent), IPAddress.Loopback, 0);

    [Benchmark]
    public int ResolveRoute() => Routing.RouteResolver.Resolve(_config, _context.Request, "/api/users/42").Status;

    [Benchmark]
    public void AccessLogLine() => _accessLog.Write(_context, _feature);
}
