using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Pipeline;
using Gateway.Transforms;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Benchmarks;

/// <summary>
/// The transform stage per request: its request side (templates, a path rewrite) and the upstream head it shapes
/// (headers through <see cref="UpstreamHeaders"/>, path and query through <see cref="UpstreamShape"/>), for a route
/// with constant edits only, one with placeholders and a rewrite, and a route without a transform as the baseline.
/// The response side edits a backend's response headers.
/// </summary>
[MemoryDiagnoser]
public class TransformBenchmarks
{
    private static readonly Stage Transform = GatewayFeatures.Stages[GatewayFeatures.IndexOf<TransformStage>()];

    private RuntimeConfig _config = null!;
    private IHeaderDictionary _headers = null!;
    private Routing.CompiledRoute _plain = null!;
    private Routing.CompiledRoute _constant = null!;
    private Routing.CompiledRoute _dynamic = null!;
    private HeaderDictionary _response = null!;

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.LoadText("""
            logging: {access_log: false}
            routes:
              - {id: plain, path: "/plain/*rest", backend: "http://127.0.0.1:3000"}
              - id: constant
                path: "/constant/*rest"
                backend: "http://127.0.0.1:3000"
                transform:
                  request:
                    add_headers: {X-Gateway-Version: "1.0"}
                    set_headers: {X-Forwarded-Proto: https, Accept: application/json}
                    remove_headers: [Cookie]
                  response:
                    add_headers: {X-Frame-Options: DENY}
                    remove_headers: [Server]
              - id: dynamic
                path: "/v1/*rest"
                backend: "http://127.0.0.1:3000"
                transform:
                  request:
                    path_rewrites: [{pattern: '^/v1/(.*)$', replacement: "/api/v2/$1"}]
                    set_headers: {X-Client: "{client_ip}", X-Route: "{route}:{header:User-Agent}"}
                    query_params: {add: {migrated: "true"}, remove: [debug]}
            """, "b.yaml", ".", _ => null);
        _config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _plain = _config.Routes.Single(r => r.Id == "plain");
        _constant = _config.Routes.Single(r => r.Id == "constant");
        _dynamic = _config.Routes.Single(r => r.Id == "dynamic");
        _headers = new HeaderDictionary
        {
            ["Host"] = "api.example.com",
            ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            ["Accept"] = "text/html",
            ["Cookie"] = "session=abc",
        };
        _response = new HeaderDictionary { ["Server"] = "backend", ["Content-Type"] = "application/json" };
    }

    [Benchmark(Baseline = true)]
    public int NoTransform() => Shape(_plain, "/plain/users/42", "?page=2&debug=1");

    [Benchmark]
    public int ConstantHeaders() => Shape(_constant, "/constant/users/42", "?page=2&debug=1");

    [Benchmark]
    public int PlaceholdersRewriteAndQuery() => Shape(_dynamic, "/v1/users/42", "?page=2&debug=1");

    [Benchmark]
    public int ResponseHeaders()
    {
        // The backend's headers as they arrive (the edit removes one and adds another).
        _response["Server"] = "backend";
        _response.Remove("X-Frame-Options");
        var exchange = NewExchange(_constant, "/constant/users/42", "");
        Transform.Response(exchange, _constant.Policies[GatewayFeatures.IndexOf<TransformStage>()]!);
        return _response.Count;
    }

    private int Shape(Routing.CompiledRoute route, string path, string query)
    {
        var exchange = NewExchange(route, path, query);
        if (route.Policies[GatewayFeatures.IndexOf<TransformStage>()] is { } policy)
        {
            _ = Transform.RequestAsync(exchange, policy).Result;
        }

        var shape = route.Policy<ForwardPolicy>()!.Upstream!.Shape;
        var sink = new CountingSink();
        UpstreamHeaders.Write(exchange, shape, "127.0.0.1:3000", StringValues.Empty, ref sink);
        return sink.Count + shape.Path(exchange).Length + shape.Query(exchange).Length;
    }

    private Exchange NewExchange(Routing.CompiledRoute route, string path, string query) =>
        new(new PipelineBenchmarks.NullChannel(_response), _config, TimeProvider.System, HttpMethods.Get, path + query, _headers)
        {
            Peer = IPAddress.Loopback,
            ClientIp = IPAddress.Loopback,
            RequestId = "0af7651916cd43dd8448eb211c80319c",
            Route = route,
            Path = path,
            Query = query,
        };

    /// <summary>Counts what a sender would write (a real sender formats the same calls into its request).</summary>
    private struct CountingSink : IUpstreamHeaderSink
    {
        public int Count;

        public void Add(string name, StringValues values) => Count += name.Length + values.Count;

        public void Dropped(string name) => Count++;
    }
}
