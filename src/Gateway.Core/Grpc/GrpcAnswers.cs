using System.Globalization;
using System.Text;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Gateway.Grpc;

/// <summary>
/// gRPC clients read a call's outcome from <c>grpc-status</c>, not from the HTTP status: an error the gateway itself
/// answers to a gRPC request (401, 429, 503, ...) goes out as a trailers-only gRPC response (HTTP 200, the request's
/// gRPC content type, <c>grpc-status</c> and <c>grpc-message</c> in the head, no body), so the client sees
/// UNAUTHENTICATED or RESOURCE_EXHAUSTED instead of an unexplained protocol error.
/// </summary>
internal static class GrpcAnswers
{
    /// <summary>The request is gRPC or gRPC-Web (<c>application/grpc</c>, <c>application/grpc+proto</c>, <c>application/grpc-web-text</c>, ...).</summary>
    public static bool IsGrpc(Exchange exchange) => GrpcContentType(exchange) is not null;

    /// <summary>The answer as the gRPC client must see it; the gateway's own errors only (mocks and cache hits are the route's content).</summary>
    public static Answer ForGrpc(Exchange exchange, Answer answer)
    {
        if (answer.Status < 400 || answer.Silent || GrpcContentType(exchange) is not { } contentType)
        {
            return answer;
        }

        var status = StatusFor(answer.Status);
        var headers = new List<KeyValuePair<string, string>>
        {
            new("grpc-status", ((int)status).ToString(CultureInfo.InvariantCulture)),
            new("grpc-message", EncodeMessage(answer.Detail ?? ReasonPhrases.GetReasonPhrase(answer.Status))),
        };
        if (answer.HeaderName is { } name && !name.Equals("WWW-Authenticate", StringComparison.OrdinalIgnoreCase))
        {
            // Retry-After still tells a client when to come back.
            headers.Add(new(name, answer.HeaderValue ?? ""));
        }

        return answer with
        {
            Status = StatusCodes.Status200OK,
            Body = ReadOnlyMemory<byte>.Empty,
            ContentType = contentType,
            Headers = [.. headers],
            HeaderName = null,
            HeaderValue = null,
        };
    }

    /// <summary>
    /// The gRPC status for a status the gateway answers with (the gRPC project's HTTP mapping where it fits, and the
    /// gateway's meaning where it knows better: its 429 is a quota, its 504 a deadline).
    /// </summary>
    public static GrpcStatus StatusFor(int httpStatus) => httpStatus switch
    {
        400 => GrpcStatus.InvalidArgument,
        401 => GrpcStatus.Unauthenticated,
        403 => GrpcStatus.PermissionDenied,
        404 or 405 or 501 => GrpcStatus.Unimplemented,
        408 or 504 => GrpcStatus.DeadlineExceeded,
        413 or 429 or 431 => GrpcStatus.ResourceExhausted,
        499 => GrpcStatus.Cancelled,
        500 => GrpcStatus.Internal,
        502 or 503 => GrpcStatus.Unavailable,
        _ => GrpcStatus.Unknown,
    };

    private static string? GrpcContentType(Exchange exchange)
    {
        var values = exchange.RequestHeaders.ContentType;
        if (values.Count != 1 || values[0] is not { } value)
        {
            return null;
        }

        var type = value.AsSpan();
        var parameters = type.IndexOf(';');
        if (parameters >= 0)
        {
            type = type[..parameters];
        }

        type = type.Trim();
        if (!type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rest = type["application/grpc".Length..];
        return rest.IsEmpty || rest[0] is '+' or '-' ? type.ToString().ToLowerInvariant() : null;
    }

    /// <summary>grpc-message is percent-encoded UTF-8: printable ASCII but '%' stays as it is.</summary>
    private static string EncodeMessage(string message)
    {
        var text = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}

/// <summary>The gRPC status codes (grpc/doc/statuscodes.md).</summary>
internal enum GrpcStatus
{
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    Internal = 13,
    Unavailable = 14,
    Unimplemented = 12,
    Unauthenticated = 16,
}

/// <summary>A gRPC client's deadline (<c>grpc-timeout</c>): the time the call may take, at most the route's own timeout.</summary>
internal static class GrpcDeadline
{
    /// <summary>The route's timeout, shortened to the client's <c>grpc-timeout</c> on a gRPC request that sends a valid one.</summary>
    public static TimeSpan Cap(Exchange exchange, TimeSpan timeout) =>
        GrpcAnswers.IsGrpc(exchange) && TryParse(exchange.RequestHeaders["grpc-timeout"], out var deadline) && deadline < timeout ? deadline : timeout;

    /// <summary>1 to 8 digits and a unit: H, M, S, m (milliseconds), u (microseconds), n (nanoseconds).</summary>
    public static bool TryParse(Microsoft.Extensions.Primitives.StringValues values, out TimeSpan deadline)
    {
        deadline = default;
        if (values.Count != 1 || values[0] is not { Length: >= 2 and <= 9 } text || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        deadline = text[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromMicroseconds(amount),
            'n' => TimeSpan.FromTicks(amount / 100),
            _ => TimeSpan.MinValue,
        };
        return deadline >= TimeSpan.Zero;
    }
}
