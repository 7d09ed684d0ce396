namespace Gateway.Configuration;

internal sealed partial record RouteConfig
{
    public LoadBalancerConfig? LoadBalancer { get; init; }
}

internal sealed record LoadBalancerConfig
{
    public string Strategy { get; init; } = "round_robin";
    public string? HashOn { get; init; }
}
