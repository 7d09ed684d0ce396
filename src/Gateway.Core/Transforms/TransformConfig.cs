namespace Gateway.Configuration;

internal sealed partial record RouteConfig
{
    public TransformConfig? Transform { get; init; }
}

internal sealed record TransformConfig
{
    public RequestTransformConfig? Request { get; init; }
    public ResponseTransformConfig? Response { get; init; }
}

internal sealed record RequestTransformConfig
{
    public Dictionary<string, string>? AddHeaders { get; init; }
    public Dictionary<string, string>? SetHeaders { get; init; }
    public List<string>? RemoveHeaders { get; init; }
    public List<PathRewriteConfig>? PathRewrites { get; init; }
    public QueryParamsConfig? QueryParams { get; init; }
}

internal sealed record ResponseTransformConfig
{
    public Dictionary<string, string>? AddHeaders { get; init; }
    public Dictionary<string, string>? SetHeaders { get; init; }
    public List<string>? RemoveHeaders { get; init; }
}

internal sealed record PathRewriteConfig
{
    public string Pattern { get; init; } = "";
    public string Replacement { get; init; } = "";
}

internal sealed record QueryParamsConfig
{
    public Dictionary<string, string>? Add { get; init; }
    public Dictionary<string, string>? Set { get; init; }
    public List<string>? Remove { get; init; }
}
