using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Compression;

/// <summary>A route's compression settings, compiled, and the gateway-wide bound on encoders alive at once.</summary>
internal sealed record CompressionPolicy(long MinBytes, MediaTypeSet Types, bool Global, int MaxConcurrent = CompressionConfig.DefaultMaxConcurrent, EncoderBudget? Budget = null);

/// <summary>
/// Response compression (gzip, br, zstd), globally and per route (a route's own block replaces the global one). Its
/// response side runs last of all, so the body is encoded after every other stage (response transforms, the cache,
/// which keeps the body as the backend sent it) has seen it. A response is compressed only when nothing says it must
/// stay as it is: see <see cref="Decide"/>. Its request side makes the tags of <c>If-Match</c> strong again, since
/// the weak tags of compressed responses are the gateway's doing (decision 0018).
/// </summary>
internal sealed class CompressionStage : Stage<CompressionPolicy>
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CompressionValidator.Validate(config, diagnostics);

    protected override CompressionPolicy? CompilePolicy(StageCompilation compilation)
    {
        if (compilation.RouteConfig!.Compression is { } own)
        {
            return own.Enabled ? Compile(own, global: false, compilation) : null;
        }

        return compilation.Config.Compression is { Enabled: true }
            ? compilation.Once(static c => Compile(c.Config.Compression!, global: true, c))
            : null;
    }

    private static CompressionPolicy Compile(CompressionConfig config, bool global, StageCompilation compilation) =>
        new(config.MinBytes, MediaTypeSet.Build(config.Types), global,
            compilation.Config.Compression?.MaxConcurrent ?? CompressionConfig.DefaultMaxConcurrent, compilation.State.CompressionEncoders);

    protected override ValueTask<bool> Request(Exchange exchange, CompressionPolicy policy)
    {
        var headers = exchange.RequestHeaders;
        if (headers.IfMatch.Count > 0 && StrongTags(headers.IfMatch) is { } strong)
        {
            headers.IfMatch = strong;
        }

        return Next;
    }

    protected override void Response(Exchange exchange, CompressionPolicy policy)
    {
        var client = exchange.Client;
        var headers = client.ResponseHeaders;
        var status = client.Status;
        var notModified = status == StatusCodes.Status304NotModified;

        // A 304 stands for the 200 it validates: decided as that one would be, from the stored entry when the cache
        // answers (its 304 carries only the headers RFC 9110 section 15.4.5 lists), else from the 304's own headers.
        var stored = notModified && exchange.Answer?.Reason == AnswerReasons.CacheHit ? exchange.Cache?.Hit : null;
        var length = notModified ? stored?.Body.Length : client.ResponseContentLength;
        var decision = Decide(status, headers, length, exchange.RequestHeaders[HeaderNames.AcceptEncoding], policy,
            exchange.RequestHeaders[HeaderNames.CacheControl], stored?.Headers);
        if (decision.Varies)
        {
            VaryHeader.Add(headers, HeaderNames.AcceptEncoding);
        }

        if (decision.Coding is not { } coding)
        {
            return;
        }

        if (notModified)
        {
            // The representation this request would get is the compressed one, whose tag is weak.
            WeakenEtag(headers);
            return;
        }

        var head = exchange.IsHead;
        if (!head && policy.Budget is { } budget && !budget.TryTake(policy.MaxConcurrent))
        {
            // Too many responses are being compressed at once: this one goes out as it is (Vary stays: it varies).
            return;
        }

        // HEAD gets the head GET would get (RFC 9110 section 9.3.2), with no body to encode.
        client.ResponseContentLength = null;
        headers.Remove(HeaderNames.ContentLength);
        headers[HeaderNames.ContentEncoding] = coding.Name;

        // Ranges of the uncompressed body do not apply to the compressed one.
        headers.Remove(HeaderNames.AcceptRanges);
        WeakenEtag(headers);
        if (!head)
        {
            exchange.FilterResponseBody(new CompressionFilter(exchange, coding, policy.Budget));
        }
    }

    /// <summary>What compression does with one response, from its head and the request's <c>Accept-Encoding</c>.</summary>
    /// <param name="Coding">
    /// The coding of the representation this client gets, or null for the body as it is. For HEAD and 304 nothing is
    /// encoded: the coding is the one their GET or 200 would have.
    /// </param>
    /// <param name="Varies">Whether the outcome depends on the request's <c>Accept-Encoding</c> (the response then carries <c>Vary</c>).</param>
    internal readonly record struct Decision(ContentCoding? Coding, bool Varies);

    /// <summary>
    /// Never compressed, whatever the client accepts (and then without <c>Vary</c>, since the request changes nothing):
    /// upgrades and other 1xx, 204, 205, 206 or any <c>Content-Range</c>, a body the backend encoded itself (any
    /// <c>Content-Encoding</c>), <c>Cache-Control: no-transform</c>, <c>text/event-stream</c>, types not listed (and
    /// a response with more than one <c>Content-Type</c>), empty bodies, and bodies whose Content-Length is below
    /// <c>min_bytes</c>. A body of unknown length is compressed whatever its size: holding it back to count would
    /// delay a stream. A request with <c>Cache-Control: no-transform</c> gets the body as it is (with <c>Vary</c>).
    /// HEAD and 304 are decided as their GET and 200 would be; a 304 is judged on <paramref name="stored"/> (the
    /// cache's entry) when given, and on its own head otherwise, where a 304 without <c>Content-Type</c> is taken to
    /// stand for a compressible 200 (the safe side: a weak tag and <c>Vary</c>).
    /// </summary>
    internal static Decision Decide(int status, IHeaderDictionary response, long? contentLength, StringValues acceptEncoding, CompressionPolicy policy,
        StringValues requestCacheControl = default, KeyValuePair<string, string[]>[]? stored = null)
    {
        if (status < 200 || status is StatusCodes.Status204NoContent or StatusCodes.Status205ResetContent or StatusCodes.Status206PartialContent
            || response.ContainsKey(HeaderNames.ContentEncoding) || response.ContainsKey(HeaderNames.ContentRange)
            || NoTransform(response[HeaderNames.CacheControl]))
        {
            return default;
        }

        var notModified = status == StatusCodes.Status304NotModified;
        var contentType = response[HeaderNames.ContentType];
        if (stored is not null)
        {
            if (Stored(stored, HeaderNames.ContentEncoding).Count > 0 || Stored(stored, HeaderNames.ContentRange).Count > 0
                || NoTransform(Stored(stored, HeaderNames.CacheControl)))
            {
                return default;
            }

            contentType = Stored(stored, HeaderNames.ContentType);
        }

        if ((!notModified || stored is not null || contentType.Count > 0)
            && (!Compressible(contentType, policy) || contentLength == 0 || contentLength < policy.MinBytes))
        {
            return default;
        }

        if (NoTransform(requestCacheControl))
        {
            return new Decision(null, Varies: true);
        }

        return new Decision(AcceptEncoding.Choose(acceptEncoding), Varies: true);
    }

    /// <summary>Whether the response has exactly one <c>Content-Type</c>, listed in the policy and not an event stream.</summary>
    private static bool Compressible(StringValues contentType, CompressionPolicy policy)
    {
        // Two values (two header lines, or one joined with a comma) are no media type anyone can rely on.
        if (contentType is not [{ Length: > 0 } value] || value.Contains(',', StringComparison.Ordinal))
        {
            return false;
        }

        return !IsEventStream(value) && policy.Types.Contains(value);
    }

    private static StringValues Stored(KeyValuePair<string, string[]>[] headers, string name)
    {
        foreach (var (key, values) in headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return values;
            }
        }

        return StringValues.Empty;
    }

    /// <summary>
    /// <c>If-Match</c> with every weak tag made strong (<c>W/"v1"</c> becomes <c>"v1"</c>), or null when none is weak.
    /// The gateway weakens the strong tags of the responses it compresses; a client that sends such a tag back in
    /// <c>If-Match</c> means the backend's strong one, which the backend compares strongly (RFC 9110 section 13.1.1).
    /// </summary>
    internal static string? StrongTags(StringValues ifMatch)
    {
        System.Text.StringBuilder? built = null;
        for (var v = 0; v < ifMatch.Count; v++)
        {
            var value = ifMatch[v] ?? "";
            var quoted = false;
            var copied = 0;
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '"')
                {
                    quoted = !quoted;
                }
                else if (!quoted && c == 'W' && i + 2 < value.Length && value[i + 1] == '/' && value[i + 2] == '"')
                {
                    built ??= Prefix(ifMatch, v);
                    built.Append(value, copied, i - copied);
                    copied = i + 2;
                    i++;
                }
            }

            if (built is not null)
            {
                built.Append(value, copied, value.Length - copied);
                if (v < ifMatch.Count - 1)
                {
                    built.Append(", ");
                }
            }
        }

        return built?.ToString();

        static System.Text.StringBuilder Prefix(StringValues values, int upTo)
        {
            var builder = new System.Text.StringBuilder();
            for (var i = 0; i < upTo; i++)
            {
                builder.Append(values[i]).Append(", ");
            }

            return builder;
        }
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
