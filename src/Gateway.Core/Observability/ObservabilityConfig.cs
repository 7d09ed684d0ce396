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
    public string? OtlpEndpoint { get; init; }
    public string ServiceName { get; init; } = "gateway";
    public string? ServiceVersion { get; init; }
    public double SampleRate { get; init; } = 1.0;
}

internal sealed record SloConfig
{
    public double LatencyMs { get; init; }
    public double Target { get; init; }
}
