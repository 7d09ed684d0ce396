using System.Text;
using Gateway.Pipeline;

namespace Gateway.Forwarding;

/// <summary>A route's fixed answer, encoded once when the config is compiled.</summary>
internal sealed class MockResponse
{
    public MockResponse(int status, IReadOnlyDictionary<string, string> headers, string? body)
    {
        Status = status;
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var hasContentType = headers.Keys.Any(k => string.Equals(k, "Content-Type", StringComparison.OrdinalIgnoreCase));
        Answer = new Answer(status, bytes, bytes.Length > 0 && !hasContentType ? "text/plain; charset=utf-8" : null)
        {
            Headers = [.. headers],
            Detail = "the route's mock answer",
            Reason = AnswerReasons.Mock,
        };
    }

    public int Status { get; }

    /// <summary>The answer as the gateway writes it (the rate-limit and request-id headers come from their stages).</summary>
    public Answer Answer { get; }

    public int BodyLength => Answer.Body.Length;
}
