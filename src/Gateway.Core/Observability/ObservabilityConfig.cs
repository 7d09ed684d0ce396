namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public ObservabilityConfig? Observability { get; init; }
}

internal sealed partial record RouteConfig
{
    public SloConfig? Slo { get; init; }
}

internal sealed record ObservabilityConfig
{
    public MetricsConfig? Metrics { get; init; }
    public TracingConfig? Tracing { get; init; }
}

internal sealed record MetricsConfig
{
    public bool Enabled { get; init; }
    public string Path { get; init; } = "/metrics";
}

internal sealed record TracingConfig
{
    public bool Enabled { get; init; }

    /// <summary>Where spans go: the collector's OTLP address (gRPC: <c>http://host:4317</c>; HTTP: <c>http://host:4318</c>, <c>/v1/traces</c> added when no path is given).</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>How spans are sent to <see cref="OtlpEndpoint"/> (gRPC by default, as the earlier gateway did).</summary>
    [KnownValues("grpc", "http/protobuf")] public string Protocol { get; init; } = "grpc";

    public string ServiceName { get; init; } = "gateway";
    public string? ServiceVersion { get; init; }

    /// <summary>The share of new traces recorded; a request that continues a trace follows its parent's decision.</summary>
    public double SampleRate { get; init; } = 1.0;
}

internal sealed record SloConfig
{
    public double LatencyMs { get; init; }
    public double Target { get; init; }
}
