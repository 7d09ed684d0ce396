namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public CorsConfig? Cors { get; init; }
}

internal sealed partial record RouteConfig
{
    public CorsConfig? Cors { get; init; }
}

internal sealed record CorsConfig
{
    public List<string> AllowedOrigins { get; init; } = [];
    public List<string> AllowedMethods { get; init; } = [];
    public List<string> AllowedHeaders { get; init; } = [];
    public List<string> ExposedHeaders { get; init; } = [];
    public bool AllowCredentials { get; init; }
    public int? MaxAgeSecs { get; init; }
}
