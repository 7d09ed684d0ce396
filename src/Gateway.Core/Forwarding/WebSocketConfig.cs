namespace Gateway.Configuration;

internal sealed partial record RouteConfig
{
    public WebSocketConfig? Websocket { get; init; }
}

internal sealed record WebSocketConfig
{
    public double? IdleTimeoutSecs { get; init; }
    public double? MaxLifetimeSecs { get; init; }
}
