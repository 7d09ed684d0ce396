namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public CompressionConfig? Compression { get; init; }
}

internal sealed partial record RouteConfig
{
    public CompressionConfig? Compression { get; init; }
}

internal sealed record CompressionConfig
{
    /// <summary>A compression block turns compression on unless it says otherwise (a route's <c>enabled: false</c> turns the global one off there).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Bodies known (Content-Length) to be shorter than this are sent as they are.</summary>
    public int MinBytes { get; init; } = 1024;

    /// <summary>
    /// Global block only: at most this many responses are being compressed at once, in the whole gateway; past it a
    /// response goes out as it is. Each costs about a MiB of encoder state while it is sent (README, Compression).
    /// </summary>
    public int MaxConcurrent { get; init; } = DefaultMaxConcurrent;

    public const int DefaultMaxConcurrent = 256;

    /// <summary>Media types to compress: <c>type/subtype</c>, <c>type/*</c> or <c>*/*+suffix</c>, case-insensitive.</summary>
    public List<string> Types { get; init; } =
    [
        "text/*",
        "application/json",
        "*/*+json",
        "application/javascript",
        "application/x-javascript",
        "application/xml",
        "*/*+xml",
        "image/svg+xml",
    ];
}
