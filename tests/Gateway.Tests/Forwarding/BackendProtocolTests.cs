using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Forwarding;

/// <summary><c>backend_protocol: h2c</c> speaks HTTP/2 with prior knowledge to cleartext backends (gRPC without TLS).</summary>
public sealed class BackendProtocolTests
{
    [Fact]
    public async Task H2c_backends_are_reached_with_http2()
    {
        await using var backend = await StartHttp2OnlyAsync(context => context.Response.WriteAsync(context.Request.Protocol));
        var port = Port(backend);

        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /h2c, backend: "http://127.0.0.1:{{{port}}}", backend_protocol: h2c}
              - {path: /plain, backend: "http://127.0.0.1:{{{port}}}"}
            """);
        using var h2c = await gateway.Client.GetAsync("/h2c");
        Assert.Equal(HttpStatusCode.OK, h2c.StatusCode);
        Assert.Equal("HTTP/2", await h2c.Content.ReadAsStringAsync());

        // Without h2c the gateway opens HTTP/1.1 on cleartext, which this HTTP/2-only backend rejects itself (Kestrel answers 400).
        using var plain = await gateway.Client.GetAsync("/plain");
        Assert.NotEqual(HttpStatusCode.OK, plain.StatusCode);
    }

    [Fact]
    public async Task H2c_against_an_http1_only_backend_is_a_bad_gateway()
    {
        using var backend = RawBackend.Http1Only();
        await using var gateway = await TestGateway.StartAsync($$"""
            routes:
              - {path: /h2c, backend: "{{backend.Url}}", backend_protocol: h2c}
            """);
        using var response = await gateway.Client.GetAsync("/h2c");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task Health_checks_probe_h2c_backends_with_http2()
    {
        var probes = new System.Collections.Concurrent.ConcurrentBag<string>();
        await using var backend = await StartHttp2OnlyAsync(context =>
        {
            if (context.Request.Path == "/health")
            {
                probes.Add(context.Request.Protocol);
            }

            return context.Response.WriteAsync("ok");
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /grpc/*rest
                backend: "http://127.0.0.1:{{{Port(backend)}}}"
                backend_protocol: h2c
                health_check: {enabled: true, interval_secs: 0.2, timeout_secs: 1, unhealthy_threshold: 1, path: /health}
            """);
        for (var i = 0; i < 200 && probes.IsEmpty; i++)
        {
            await Task.Delay(50);
        }

        Assert.NotEmpty(probes);
        Assert.All(probes, protocol => Assert.Equal("HTTP/2", protocol));
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/grpc/x")).StatusCode);
        Assert.DoesNotContain(await gateway.LogLinesAsync(), l => l.Contains("is now unhealthy", StringComparison.Ordinal));
    }

    private static async Task<WebApplication> StartHttp2OnlyAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        var backend = builder.Build();
        backend.Run(handler);
        await backend.StartAsync();
        return backend;
    }

    private static int Port(WebApplication backend) =>
        new Uri(backend.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
}
