using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Pipeline;

/// <summary>Error answers as RFC 9457 problem details, the same shape for every status.</summary>
internal static class Problems
{
    public const string ContentType = "application/problem+json";

    public static Task WriteAsync(HttpContext context, int status, string type, string title, string detail, string? headerName = null, string? headerValue = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }

        var feature = context.Features.Get<GatewayRequestFeature>();
        response.Clear();
        response.StatusCode = status;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-store";
        if (feature is not null)
        {
            response.Headers[RequestIds.HeaderName] = feature.RequestId;
        }

        if (feature is not null)
        {
            RateLimiting.RateLimitHeaders.Apply(response.Headers, feature.RateLimit);
        }

        if (headerName is not null)
        {
            response.Headers[headerName] = headerValue;
        }

        var body = Serialize(status, type, title, detail, feature?.RequestId);
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public static Task NotFound(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status404NotFound, "urn:gateway:problem:no-route", "Not Found", "No route matches this request.");

    public static Task MethodNotAllowed(HttpContext context, string allow) =>
        WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "urn:gateway:problem:method-not-allowed", "Method Not Allowed",
            $"The route for this path accepts only: {allow}.", HeaderNames.Allow, allow);

    public static Task BadRequest(HttpContext context, string detail) =>
        WriteAsync(context, StatusCodes.Status400BadRequest, "urn:gateway:problem:bad-request", "Bad Request", detail);

    internal static byte[] Serialize(int status, string type, string title, string detail, string? requestId)
    {
        using var stream = new MemoryStream(256);
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            writer.WriteString("title", title);
            writer.WriteNumber("status", status);
            writer.WriteString("detail", detail);
            if (requestId is not null)
            {
                writer.WriteString("request_id", requestId);
            }

            writer.WriteEndObject();
        }

        return stream.ToArray();
    }
}
