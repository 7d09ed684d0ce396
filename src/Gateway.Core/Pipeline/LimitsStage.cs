using System.Buffers;
using Gateway.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Pipeline;

/// <summary>The limits of one snapshot.</summary>
internal sealed record LimitsPolicy(LimitsConfig Limits, long? MaxRequestBodySize);

/// <summary>
/// Limits on what a client may send, and framing the gateway will not forward: 414 for a long target, 431 for too
/// many or too large headers, 400 for a header value with a control character (such a value cannot be sent on
/// HTTP/1.1 unchanged, and must never be blamed on a backend), 400 for a Content-Length that is not a plain number or
/// that comes with Transfer-Encoding, 501 for any transfer coding but a single <c>chunked</c> (RFC 9112 section 6.1),
/// 413 for a body over <c>max_request_size</c>.
/// </summary>
internal sealed class LimitsStage : Stage<LimitsPolicy>
{
    /// <summary>C0 controls but HTAB, and DEL: never valid in a field value (RFC 9110 section 5.5).</summary>
    private static readonly SearchValues<char> Controls = SearchValues.Create(
        "\0\x01\x02\x03\x04\x05\x06\x07\x08\x0A\x0B\x0C\x0D\x0E\x0F\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1A\x1B\x1C\x1D\x1E\x1F\x7F");

    public override StageScope Scope => StageScope.Request;

    protected override LimitsPolicy CompilePolicy(StageCompilation compilation) =>
        new(compilation.Config.Server.Limits, compilation.Config.MaxRequestSize);

    protected override ValueTask<bool> Request(Exchange exchange, LimitsPolicy policy)
    {
        var limits = policy.Limits;
        if (exchange.RawTarget.Length > limits.MaxUriBytes)
        {
            return Refuse(exchange, Problems.Create(exchange, StatusCodes.Status414UriTooLong, AnswerReasons.UriTooLong, "urn:gateway:problem:uri-too-long", "URI Too Long",
                $"The request target is longer than {limits.MaxUriBytes} bytes."));
        }

        var headers = exchange.RequestHeaders;
        var bytes = Scan(headers, exchange, out var lines, out var control);
        if (lines > limits.MaxHeaders || bytes > limits.MaxHeaderBytes)
        {
            return Refuse(exchange, Problems.Create(exchange, StatusCodes.Status431RequestHeaderFieldsTooLarge, AnswerReasons.HeadersTooLarge, "urn:gateway:problem:headers-too-large",
                "Request Header Fields Too Large", $"The request has more than {limits.MaxHeaders} headers or more than {limits.MaxHeaderBytes} bytes of them."));
        }

        if (control is not null)
        {
            return Refuse(exchange, Problems.BadRequest(exchange, AnswerReasons.BadHeaderValue, $"The value of the request header '{control}' contains a control character."));
        }

        var transferEncoding = headers.TransferEncoding;
        if (transferEncoding.Count > 0)
        {
            // Kestrel frames such a request by Transfer-Encoding alone and renames the Content-Length it dropped to
            // X-Content-Length; a request that carried both is refused rather than guessed at.
            if (headers.ContainsKey("Content-Length") || headers.ContainsKey("X-Content-Length"))
            {
                return Refuse(exchange, Problems.BadRequest(exchange, AnswerReasons.BadFraming, "The request has both Content-Length and Transfer-Encoding."));
            }

            switch (FramingHeaders.Classify(transferEncoding))
            {
                case TransferCoding.Malformed:
                    // RFC 9112 section 6.3: a request whose last coding is not chunked cannot be framed at all.
                    return Refuse(exchange, Problems.BadRequest(exchange, AnswerReasons.BadFraming, "The request's Transfer-Encoding does not end in chunked."));
                case TransferCoding.Unsupported:
                    return Refuse(exchange, Problems.Create(exchange, StatusCodes.Status501NotImplemented, AnswerReasons.UnsupportedTransferCoding, "urn:gateway:problem:transfer-coding", "Not Implemented",
                        "The only transfer coding the gateway accepts is 'Transfer-Encoding: chunked' on its own."));
            }
        }
        else if (headers["Content-Length"].Count > 0 && !IsPlainLength(headers["Content-Length"]))
        {
            return Refuse(exchange, Problems.BadRequest(exchange, AnswerReasons.BadFraming, "The Content-Length header must be one plain decimal number."));
        }

        if (policy.MaxRequestBodySize is long max)
        {
            if (exchange.RequestContentLength > max)
            {
                return Refuse(exchange, Problems.ContentTooLarge(exchange, $"The request body is larger than {max} bytes."));
            }

            // Bodies without a length (chunked) are cut off by the codec as they stream past the limit.
            exchange.Client.LimitRequestBody(max);
        }

        return Next;
    }

    private static ValueTask<bool> Refuse(Exchange exchange, Answer answer)
    {
        exchange.Respond(answer);
        return Stop;
    }

    /// <summary>
    /// Bytes and lines of all headers, in one pass that also notes names with '_' and finds the first value with a
    /// control character.
    /// </summary>
    private static long Scan(IHeaderDictionary headers, Exchange exchange, out int lines, out string? control)
    {
        control = null;
        lines = 0;
        long total = 0;
        if (headers is Http1.HeaderList list)
        {
            // The native codec's headers walk without boxing an enumerator.
            foreach (var (name, values) in list)
            {
                total += Scan(name, values, exchange, ref lines, ref control);
            }
        }
        else
        {
            foreach (var (name, values) in headers)
            {
                total += Scan(name, values, exchange, ref lines, ref control);
            }
        }

        return total;
    }

    private static long Scan(string name, StringValues values, Exchange exchange, ref int lines, ref string? control)
    {
        if (name.Contains('_', StringComparison.Ordinal))
        {
            exchange.HasUnderscoreHeaders = true;
        }

        long total = 0;
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            total += name.Length + value.Length + 4;
            lines++;
            if (control is null && value.AsSpan().ContainsAny(Controls))
            {
                control = name;
            }
        }

        return total;
    }

    private static bool IsPlainLength(StringValues values)
    {
        if (values.Count != 1 || values[0] is not { Length: > 0 and <= 19 } text)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
