namespace Gateway.Configuration;

internal sealed partial record RouteConfig
{
    public LoadBalancerConfig? LoadBalancer { get; init; }
}

internal sealed record LoadBalancerConfig
{
    [KnownValues("round_robin", "least_connections", "weighted", "ip_hash", "random", "power_of_two", "consistent_hash")]
    public string Strategy { get; init; } = "round_robin";
    public string? HashOn { get; init; }
}
