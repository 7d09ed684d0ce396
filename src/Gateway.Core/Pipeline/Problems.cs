using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Pipeline;

/// <summary>Error answers as RFC 9457 problem details, the same shape for every status.</summary>
internal static class Problems
{
    public const string ContentType = "application/problem+json";

    /// <summary>The client went away: nothing is written, and the access log says 499.</summary>
    public static readonly Answer ClientGone = new(499, ReadOnlyMemory<byte>.Empty, null)
    {
        Silent = true,
        Detail = "The client closed the connection.",
        Reason = AnswerReasons.ClientClosed,
    };

    /// <param name="reason">The access log's code for this answer (one of <see cref="AnswerReasons"/>).</param>
    public static Answer Create(Exchange exchange, int status, string reason, string type, string title, string detail, string? headerName = null, string? headerValue = null) =>
        new(status, Serialize(status, type, title, detail, exchange.RequestId.Length == 0 ? null : exchange.RequestId), ContentType)
        {
            NoStore = true,
            HeaderName = headerName,
            HeaderValue = headerValue,
            Detail = detail,
            Reason = reason,
        };

    public static Answer NotFound(Exchange exchange) =>
        Create(exchange, StatusCodes.Status404NotFound, AnswerReasons.RouteNotFound, "urn:gateway:problem:no-route", "Not Found", "No route matches this request.");

    public static Answer MethodNotAllowed(Exchange exchange, string allow, string detail) =>
        Create(exchange, StatusCodes.Status405MethodNotAllowed, AnswerReasons.MethodNotAllowed, "urn:gateway:problem:method-not-allowed", "Method Not Allowed", detail,
            HeaderNames.Allow, allow);

    public static Answer BadRequest(Exchange exchange, string reason, string detail) =>
        Create(exchange, StatusCodes.Status400BadRequest, reason, "urn:gateway:problem:bad-request", "Bad Request", detail);

    public static Answer ContentTooLarge(Exchange exchange, string detail) =>
        Create(exchange, StatusCodes.Status413PayloadTooLarge, AnswerReasons.BodyTooLarge, "urn:gateway:problem:body-too-large", "Content Too Large", detail);

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
