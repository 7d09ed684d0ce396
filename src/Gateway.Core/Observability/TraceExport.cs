using System.Diagnostics;
using Gateway.Configuration;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gateway.Observability;

/// <summary>What identifies an exporter: where spans go, how, and in whose name. The sample rate is not part of it.</summary>
internal readonly record struct TraceExportKey(string Endpoint, string Protocol, string ServiceName, string? ServiceVersion)
{
    public static TraceExportKey From(TracingConfig tracing) =>
        new(tracing.OtlpEndpoint ?? "", tracing.Protocol, tracing.ServiceName, tracing.ServiceVersion);
}

/// <summary>
/// The gateway's spans for one <see cref="TraceExportKey"/>, for the life of the process or until a reload names
/// another: an <see cref="ActivitySource"/> of its own and an OpenTelemetry tracer provider that batches the spans of
/// that source (and of no other: several gateways, or an old and a new exporter, may share a process) to the OTLP
/// endpoint. The gateway decides sampling itself before a span exists (<see cref="TracingStage"/>), so the provider
/// records every span it is offered.
/// </summary>
internal sealed class TraceExport : IDisposable
{
    /// <summary>The name of the gateway's activity source (the instrumentation scope of its spans).</summary>
    public const string SourceName = "Gateway";

    private readonly TracerProvider _provider;

    public TraceExport(TraceExportKey key)
    {
        Source = new ActivitySource(SourceName, typeof(TraceExport).Assembly.GetName().Version?.ToString(3));
        var protocol = key.Protocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        var exporter = new OtlpTraceExporter(new OtlpExporterOptions { Endpoint = EndpointOf(key.Endpoint, protocol), Protocol = protocol });
        _provider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(key.ServiceName, serviceVersion: key.ServiceVersion, autoGenerateServiceInstanceId: true))
            .AddSource(SourceName)
            .SetSampler(new AlwaysOnSampler())
            .AddProcessor(new OwnSpans(Source, exporter))
            .Build()!;
    }

    public ActivitySource Source { get; }

    /// <summary>
    /// The address the exporter posts to. OTLP/HTTP takes the whole URL: a collector's base address gets the signal's
    /// path <c>/v1/traces</c>, as the OTLP environment variables do; gRPC takes the address as it is.
    /// </summary>
    internal static Uri EndpointOf(string endpoint, OtlpExportProtocol protocol)
    {
        var url = new Uri(endpoint, UriKind.Absolute);
        return protocol == OtlpExportProtocol.HttpProtobuf && url.AbsolutePath is "/" or "" ? new Uri(url, "/v1/traces") : url;
    }

    /// <summary>Sends what is still batched, then stops.</summary>
    public void Dispose()
    {
        _provider.Dispose();
        Source.Dispose();
    }

    /// <summary>Batches the spans of one source only (providers listen by source name, which the gateway's exporters share).</summary>
    private sealed class OwnSpans(ActivitySource source, BaseExporter<Activity> exporter) : BatchActivityExportProcessor(exporter)
    {
        public override void OnEnd(Activity data)
        {
            if (data.Source == source)
            {
                base.OnEnd(data);
            }
        }
    }
}
