using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Forwarding;

/// <summary>A route's fixed answer, encoded once when the config is compiled.</summary>
internal sealed class MockResponse
{
    public MockResponse(int status, IReadOnlyDictionary<string, string> headers, string? body)
    {
        Status = status;
        Body = body is null ? [] : Encoding.UTF8.GetBytes(body);
        Headers = [.. headers];
        HasContentType = headers.Keys.Any(k => string.Equals(k, "Content-Type", StringComparison.OrdinalIgnoreCase));
    }

    public int Status { get; }

    public byte[] Body { get; }

    public KeyValuePair<string, string>[] Headers { get; }

    public bool HasContentType { get; }

    public Task WriteAsync(HttpContext context, in RateLimiting.RateLimitOutcome rateLimit)
    {
        var response = context.Response;
        response.StatusCode = Status;
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        // The gateway's own rate-limit headers win over configured ones, as they do over a backend's.
        RateLimiting.RateLimitHeaders.Apply(response.Headers, rateLimit);

        if (Body.Length == 0)
        {
            return Task.CompletedTask;
        }

        if (!HasContentType)
        {
            response.ContentType = "text/plain; charset=utf-8";
        }

        response.ContentLength = Body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(Body, context.RequestAborted).AsTask();
    }
}
