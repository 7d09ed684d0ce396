namespace Gateway.Pipeline;

/// <summary>
/// A response the gateway makes itself (an error document, a mock, later a cache hit or a CORS preflight):
/// status, body and the headers that belong to it. The headers every response gets (request id, rate-limit
/// headers) are added by the response side of the stages, never here.
/// </summary>
internal readonly record struct Answer(int Status, ReadOnlyMemory<byte> Body, string? ContentType)
{
    /// <summary>Headers of the answer itself (a mock's configured headers).</summary>
    public KeyValuePair<string, string>[]? Headers { get; init; }

    /// <summary>One more header that explains the status: <c>Allow</c>, <c>Retry-After</c>, <c>WWW-Authenticate</c>.</summary>
    public string? HeaderName { get; init; }

    public string? HeaderValue { get; init; }

    /// <summary>Never stored by caches (error documents).</summary>
    public bool NoStore { get; init; }

    /// <summary>Why, in words (for logs and the offline verbs).</summary>
    public string? Detail { get; init; }

    /// <summary>Why, as a stable code for the access log (one of <see cref="AnswerReasons"/>).</summary>
    public string? Reason { get; init; }

    /// <summary>The client went away: nothing is written (logged as 499).</summary>
    public bool Silent { get; init; }
}
