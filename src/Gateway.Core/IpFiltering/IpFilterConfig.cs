namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public IpFilterConfig? IpFilter { get; init; }
}

internal sealed partial record RouteConfig
{
    public IpFilterConfig? IpFilter { get; init; }
}

internal sealed record IpFilterConfig
{
    public List<string> Whitelist { get; init; } = [];
    public List<string> Blacklist { get; init; } = [];
    [KnownValues("allow", "deny")] public string DefaultAction { get; init; } = "allow";
}
