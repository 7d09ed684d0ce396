using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;
using Gateway.Tests.Observability.Otlp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Observability;

/// <summary>
/// An OTLP trace collector on loopback, as far as the tests need one: <c>POST /v1/traces</c> with a protobuf body
/// (OTLP/HTTP), or over h2c the gRPC method <c>TraceService/Export</c> with its length-prefixed message and a
/// <c>grpc-status</c> trailer (OTLP/gRPC). Every request is decoded with the test project's own OTLP .proto.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private const string GrpcPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private readonly WebApplication _app;
    private readonly List<ExportTraceServiceRequest> _requests = [];

    private OtlpReceiver(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Content types the receiver was sent, one per request.</summary>
    public List<string> ContentTypes { get; } = [];

    /// <param name="grpc">Serve gRPC over h2c (HTTP/2 only) instead of OTLP/HTTP over HTTP/1.1.</param>
    public static async Task<OtlpReceiver> StartAsync(bool grpc)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
            k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = grpc ? HttpProtocols.Http2 : HttpProtocols.Http1));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.Run(context => grpc ? receiver.ExportGrpcAsync(context) : receiver.ExportHttpAsync(context));
        await app.StartAsync();
        receiver.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return receiver;
    }

    /// <summary>Every span received so far, with its resource.</summary>
    public List<(Resource Resource, InstrumentationScope Scope, Span Span)> Spans()
    {
        lock (_requests)
        {
            return [.. _requests.SelectMany(r => r.ResourceSpans).SelectMany(rs => rs.ScopeSpans.SelectMany(ss => ss.Spans.Select(s => (rs.Resource, ss.Scope, s))))];
        }
    }

    /// <summary>The spans of one trace once <paramref name="count"/> have arrived (the exporter batches: up to its 5 s delay and more).</summary>
    public async Task<List<(Resource Resource, InstrumentationScope Scope, Span Span)>> TraceAsync(byte[] traceId, int count)
    {
        for (var i = 0; i < 750; i++)
        {
            var spans = Spans().Where(s => s.Span.TraceId.Span.SequenceEqual(traceId)).ToList();
            if (spans.Count >= count)
            {
                return spans;
            }

            await Task.Delay(20);
        }

        return [.. Spans().Where(s => s.Span.TraceId.Span.SequenceEqual(traceId))];
    }

    private async Task ExportHttpAsync(HttpContext context)
    {
        if (context.Request.Method != "POST" || context.Request.Path != "/v1/traces")
        {
            context.Response.StatusCode = 404;
            return;
        }

        var body = await ReadAllAsync(context.Request.Body);
        Keep(context, ExportTraceServiceRequest.Parser.ParseFrom(body));
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(new ExportTraceServiceResponse().ToByteArray());
    }

    private async Task ExportGrpcAsync(HttpContext context)
    {
        if (context.Request.Method != "POST" || context.Request.Path != GrpcPath)
        {
            context.Response.StatusCode = 404;
            return;
        }

        // One gRPC message: a compressed flag (never set here), a big-endian length, the message.
        var body = await ReadAllAsync(context.Request.Body);
        Assert.Equal(0, body[0]);
        var length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1, 4));
        Keep(context, ExportTraceServiceRequest.Parser.ParseFrom(body.AsSpan(5, length)));
        context.Response.ContentType = "application/grpc";
        var reply = new byte[5];
        await context.Response.Body.WriteAsync(reply);
        context.Response.AppendTrailer("grpc-status", "0");
    }

    private void Keep(HttpContext context, ExportTraceServiceRequest request)
    {
        lock (_requests)
        {
            _requests.Add(request);
            ContentTypes.Add(context.Request.ContentType ?? "");
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream body)
    {
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
