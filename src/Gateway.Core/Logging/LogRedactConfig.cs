namespace Gateway.Configuration;

internal sealed partial record LoggingConfig
{
    /// <summary>More headers and query parameters the logs never carry (<c>logging.redact</c>).</summary>
    public LogRedactConfig? Redact { get; init; }
}

internal sealed record LogRedactConfig
{
    /// <summary>Headers whose values never reach a log line, beyond the credentials that never do.</summary>
    public List<string> Headers { get; init; } = [];

    /// <summary>Query parameters left out of the logged path altogether, name and value (every other value is <c>***</c> anyway).</summary>
    public List<string> Query { get; init; } = [];
}
