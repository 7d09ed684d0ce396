namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public HotReloadConfig? HotReload { get; init; }
}

internal sealed record HotReloadConfig
{
    public bool Enabled { get; init; }
    public int DebounceMs { get; init; } = 500;
}
