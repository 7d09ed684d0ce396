using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Compression;

/// <summary>A route's compression settings, compiled.</summary>
internal sealed record CompressionPolicy(long MinBytes, MediaTypeSet Types, bool Global);

/// <summary>
/// Response compression (gzip, br, zstd), globally and per route (a route's own block replaces the global one). Its
/// response side runs last of all, so the body is encoded after every other stage (response transforms, the cache,
/// which keeps the body as the backend sent it) has seen it. A response is compressed only when nothing says it must
/// stay as it is: see <see cref="Decide"/>.
/// </summary>
internal sealed class CompressionStage : Stage<CompressionPolicy>
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CompressionValidator.Validate(config, diagnostics);

    protected override CompressionPolicy? CompilePolicy(StageCompilation compilation)
    {
        if (compilation.RouteConfig!.Compression is { } own)
        {
            return own.Enabled ? Compile(own, global: false) : null;
        }

        return compilation.Config.Compression is { Enabled: true }
            ? compilation.Once(static c => Compile(c.Config.Compression!, global: true))
            : null;
    }

    private static CompressionPolicy Compile(CompressionConfig config, bool global) => new(config.MinBytes, MediaTypeSet.Build(config.Types), global);

    protected override ValueTask<bool> Request(Exchange exchange, CompressionPolicy policy) => Next;

    protected override void Response(Exchange exchange, CompressionPolicy policy)
    {
        var client = exchange.Client;
        var headers = client.ResponseHeaders;
        var decision = Decide(exchange.Method, client.Status, headers, client.ResponseContentLength, exchange.RequestHeaders[HeaderNames.AcceptEncoding], policy);
        if (decision.Varies)
        {
            VaryHeader.Add(headers, HeaderNames.AcceptEncoding);
        }

        if (decision.Coding is not { } coding)
        {
            if (decision.Varies && client.Status == StatusCodes.Status304NotModified && decision.WouldEncode)
            {
                // A 304 stands for the representation this request would get: the compressed one, whose tag is weak.
                WeakenEtag(headers);
            }

            return;
        }

        client.ResponseContentLength = null;
        headers.Remove(HeaderNames.ContentLength);
        headers[HeaderNames.ContentEncoding] = coding.Name;

        // Ranges of the uncompressed body do not apply to the compressed one.
        headers.Remove(HeaderNames.AcceptRanges);
        WeakenEtag(headers);
        exchange.FilterResponseBody(new CompressionFilter(exchange, coding));
    }

    /// <summary>What compression does with one response, from its head and the request's <c>Accept-Encoding</c>.</summary>
    /// <param name="Coding">The coding to apply, or null to send the body as it is.</param>
    /// <param name="Varies">Whether the outcome depends on the request's <c>Accept-Encoding</c> (the response then carries <c>Vary</c>).</param>
    /// <param name="WouldEncode">The client accepts a coding (for a response that cannot carry one itself: HEAD, 304).</param>
    internal readonly record struct Decision(ContentCoding? Coding, bool Varies, bool WouldEncode);

    /// <summary>
    /// Never compressed, whatever the client accepts (and then without <c>Vary</c>, since the request changes nothing):
    /// upgrades and other 1xx, 204, 205, 206 or any <c>Content-Range</c>, a body the backend encoded itself (any
    /// <c>Content-Encoding</c>), <c>Cache-Control: no-transform</c>, <c>text/event-stream</c>, types not listed, and
    /// bodies whose Content-Length is below <c>min_bytes</c>. A body of unknown length is compressed whatever its size:
    /// holding it back to count would delay a stream. HEAD and 304 carry <c>Vary</c> like the response they stand
    /// for, but no body to encode.
    /// </summary>
    internal static Decision Decide(string method, int status, IHeaderDictionary response, long? contentLength, StringValues acceptEncoding, CompressionPolicy policy)
    {
        if (status < 200 || status is StatusCodes.Status204NoContent or StatusCodes.Status205ResetContent or StatusCodes.Status206PartialContent
            || response.ContainsKey(HeaderNames.ContentEncoding) || response.ContainsKey(HeaderNames.ContentRange)
            || NoTransform(response[HeaderNames.CacheControl]))
        {
            return default;
        }

        var notModified = status == StatusCodes.Status304NotModified;
        if (!notModified)
        {
            // A 304 has no body, and usually no Content-Type: it varies as its 200 would.
            var contentType = response[HeaderNames.ContentType].ToString();
            if (contentType.Length == 0 || IsEventStream(contentType) || !policy.Types.Contains(contentType) || contentLength < policy.MinBytes)
            {
                return default;
            }
        }

        var coding = AcceptEncoding.Choose(acceptEncoding);
        if (coding is null || notModified || HttpMethods.IsHead(method))
        {
            return new Decision(null, Varies: true, WouldEncode: coding is not null);
        }

        return new Decision(coding, Varies: true, WouldEncode: true);
    }

    private static bool IsEventStream(string contentType)
    {
        var semicolon = contentType.IndexOf(';');
        return (semicolon < 0 ? contentType.AsSpan() : contentType.AsSpan(0, semicolon)).Trim().Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether <c>Cache-Control</c> has the <c>no-transform</c> directive (RFC 9111 section 5.2.2.6).</summary>
    private static bool NoTransform(StringValues cacheControl)
    {
        foreach (var value in cacheControl)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var range in value.AsSpan().Split(','))
            {
                var directive = value.AsSpan()[range].Trim(" \t");
                var equals = directive.IndexOf('=');
                if ((equals < 0 ? directive : directive[..equals]).TrimEnd(" \t").Equals("no-transform", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// A strong tag names the bytes of one representation, and the compressed body is another (RFC 9110 section 8.8.3):
    /// the tag becomes weak, so that conditional requests (which compare weakly) still work and a range request with
    /// <c>If-Range</c> (which needs a strong tag) gets the whole body instead of bytes of another representation.
    /// </summary>
    private static void WeakenEtag(IHeaderDictionary response)
    {
        var etag = response[HeaderNames.ETag];
        if (etag is [{ } tag] && tag.StartsWith('"'))
        {
            response[HeaderNames.ETag] = "W/" + tag;
        }
    }

    protected override string? Describe(CompressionPolicy policy) =>
        $"compression({(policy.Global ? "global, " : "")}{string.Join("/", ContentCoding.ByPreference.Select(c => c.Name))}, min {policy.MinBytes} B, {policy.Types.Count} types)";
}
