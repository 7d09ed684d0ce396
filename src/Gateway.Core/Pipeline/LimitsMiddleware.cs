using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Pipeline;

/// <summary>
/// Limits on what a client sends: URI length (414), header count and size (431), body size (413), and
/// framing that invites request smuggling (400). Kestrel enforces a hard ceiling above these, so what
/// reaches here is answered as a problem document.
/// </summary>
internal sealed class LimitsMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<GatewayRequestFeature>();
        var config = feature.Config;
        var limits = config.Source.Server.Limits;
        var request = context.Request;
        var rawTarget = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        if (rawTarget.Length > limits.MaxUriBytes)
        {
            return Problems.WriteAsync(context, StatusCodes.Status414UriTooLong, "urn:gateway:problem:uri-too-long", "URI Too Long",
                $"The request target is longer than {limits.MaxUriBytes} bytes.");
        }

        var headers = request.Headers;
        if (headers.Count > limits.MaxHeaders || HeaderBytes(headers, feature) > limits.MaxHeaderBytes)
        {
            return Problems.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, "urn:gateway:problem:headers-too-large",
                "Request Header Fields Too Large", $"The request has more than {limits.MaxHeaders} headers or more than {limits.MaxHeaderBytes} bytes of them.");
        }

        // Kestrel already frames such a request by Transfer-Encoding alone and renames the Content-Length it
        // dropped to X-Content-Length; a request that carried both is refused rather than guessed at.
        if (headers.ContainsKey("Transfer-Encoding") && (headers.ContainsKey("Content-Length") || headers.ContainsKey("X-Content-Length")))
        {
            return Problems.BadRequest(context, "The request has both Content-Length and Transfer-Encoding.");
        }

        if (config.MaxRequestBodySize is long max)
        {
            if (request.ContentLength > max)
            {
                return Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "urn:gateway:problem:body-too-large", "Content Too Large",
                    $"The request body is larger than {max} bytes.");
            }

            // Bodies without a length (chunked) are cut off by the server as they stream past the limit.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
            {
                bodyLimit.MaxRequestBodySize = max;
            }
        }

        return next(context);
    }

    /// <summary>Bytes of all header lines; also notes names with '_' (one pass over the headers for both).</summary>
    private static long HeaderBytes(IHeaderDictionary headers, GatewayRequestFeature feature)
    {
        long total = 0;
        foreach (var (name, values) in headers)
        {
            if (name.Contains('_', StringComparison.Ordinal))
            {
                feature.HasUnderscoreHeaders = true;
            }

            foreach (var value in values)
            {
                total += name.Length + (value?.Length ?? 0) + 4;
            }
        }

        return total;
    }
}
