namespace Gateway.Configuration;

internal sealed partial record RouteConfig
{
    public HealthCheckConfig? HealthCheck { get; init; }
}

internal sealed record HealthCheckConfig
{
    public bool Enabled { get; init; }
    public double IntervalSecs { get; init; } = 10;
    public double TimeoutSecs { get; init; } = 5;
    public int UnhealthyThreshold { get; init; } = 3;
    public int HealthyThreshold { get; init; } = 2;
    public string Path { get; init; } = "/health";
    public int ExpectedStatus { get; init; } = 200;
    public bool PassiveEnabled { get; init; }

    /// <summary>How long a backend ejected by passive checks stays out before it gets traffic again.</summary>
    public double EjectionSecs { get; init; } = 30;

    public bool PanicMode { get; init; }
}
