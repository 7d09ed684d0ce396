using System.Net;
using BenchmarkDotNet.Attributes;
using Gateway.Configuration;
using Gateway.Cors;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Benchmarks;

/// <summary>
/// The CORS stage per request: an actual request from an allowed origin (request and response side: the origin
/// matched, the response's Access-Control-* headers and Vary written), the same from an origin not listed, a request
/// without Origin (same-origin or not a browser), and a preflight answered by the gateway.
/// </summary>
[MemoryDiagnoser]
public class CorsBenchmarks
{
    private static readonly Stage Cors = GatewayFeatures.Stages[GatewayFeatures.IndexOf<CorsStage>()];

    private RuntimeConfig _config = null!;
    private Routing.CompiledRoute _route = null!;
    private object _policy = null!;
    private HeaderDictionary _response = null!;

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.LoadText("""
            logging: {access_log: false}
            cors:
              allowed_origins: ["https://app.example.com", "https://admin.example.com", "http://localhost:3000"]
              allowed_methods: [GET, POST, PUT, DELETE]
              allowed_headers: [Content-Type, Authorization]
              exposed_headers: [X-Request-Id]
              allow_credentials: true
              max_age_secs: 600
            routes:
              - {id: api, path: "/api/*rest", backend: "http://127.0.0.1:3000"}
            """, "b.yaml", ".", _ => null);
        _config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        _route = _config.Routes.Single(r => r.Id == "api");
        _policy = _route.Policies[GatewayFeatures.IndexOf<CorsStage>()]!;
        _response = new HeaderDictionary();
    }

    [Benchmark(Baseline = true)]
    public int NoOrigin() => Run(HttpMethods.Get, null, null);

    [Benchmark]
    public int AllowedOrigin() => Run(HttpMethods.Get, "https://admin.example.com", null);

    [Benchmark]
    public int OtherOrigin() => Run(HttpMethods.Get, "https://evil.example", null);

    [Benchmark]
    public int Preflight() => Run(HttpMethods.Options, "https://app.example.com", "PUT");

    private int Run(string method, string? origin, string? preflightMethod)
    {
        IHeaderDictionary headers = new HeaderDictionary { ["Host"] = "api.example.com", ["Accept"] = "application/json" };
        if (origin is not null)
        {
            headers.Origin = origin;
        }

        if (preflightMethod is not null)
        {
            headers.AccessControlRequestMethod = preflightMethod;
            headers.AccessControlRequestHeaders = "content-type, authorization";
        }

        _response.Clear();
        var exchange = new Exchange(new PipelineBenchmarks.NullChannel(_response), _config, TimeProvider.System, method, "/api/users/42", headers)
        {
            Peer = IPAddress.Loopback,
            Route = _route,
            Path = "/api/users/42",
            Query = "",
        };
        var next = Cors.RequestAsync(exchange, _policy).Result;
        Cors.Response(exchange, _policy);
        return _response.Count + (next ? 1 : 0);
    }
}
