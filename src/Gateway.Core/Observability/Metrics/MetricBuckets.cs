namespace Gateway.Observability.Metrics;

/// <summary>Histogram bucket bounds, written once.</summary>
internal static class MetricBuckets
{
    /// <summary>Durations in seconds: 100 µs to 30 s, about three buckets a decade (a p99 reads within one bucket).</summary>
    public static readonly double[] Seconds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Body sizes in bytes: 64 B to 64 MiB in steps of four.</summary>
    public static readonly double[] Bytes =
        [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary>OpenTelemetry's default bounds, for histograms of other units without advice.</summary>
    public static readonly double[] Default = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
}
