using System.Collections.Frozen;
using Gateway.Configuration;
using Gateway.Forwarding;

namespace Gateway.Transforms;

/// <summary>What a transform does to a header or query parameter.</summary>
internal enum EditKind : byte
{
    /// <summary>Only when the name is absent.</summary>
    Add,

    /// <summary>Replaces every value of the name (or, when the value is missing for a request, leaves it absent).</summary>
    Set,

    /// <summary>Removes every value of the name.</summary>
    Remove,
}

internal sealed record HeaderEdit(string Name, EditKind Kind, ValueTemplate? Value);

/// <summary>A query edit; <see cref="EncodedName"/> is the name as it is written into the query.</summary>
internal sealed record QueryEdit(string Name, string EncodedName, EditKind Kind, ValueTemplate? Value);

/// <summary>The header edits of one side of a route, names unique across add, set and remove (case-insensitive).</summary>
internal sealed class HeaderEdits
{
    private HeaderEdits(HeaderEdit[] edits)
    {
        Edits = edits;
        Index = edits.Select((e, i) => KeyValuePair.Create(e.Name, i)).ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        Dynamic = edits.Any(e => e.Value is { Constant: null });
    }

    public HeaderEdit[] Edits { get; }

    /// <summary>Edit index by header name.</summary>
    public FrozenDictionary<string, int> Index { get; }

    /// <summary>Some value has placeholders (is worked out per request).</summary>
    public bool Dynamic { get; }

    /// <summary>
    /// The edits of one side. On the request side (<paramref name="request"/>), an added value made from the client
    /// address or a claim replaces the client's copies like a set one: the client must not choose it by sending the
    /// header first.
    /// </summary>
    public static HeaderEdits? Build(Dictionary<string, string>? add, Dictionary<string, string>? set, List<string>? remove, bool request, Func<string, bool>? skip = null)
    {
        var edits = new List<HeaderEdit>();
        foreach (var (name, value) in set ?? [])
        {
            if (skip?.Invoke(name) != true)
            {
                edits.Add(new HeaderEdit(name, EditKind.Set, Parse(value)));
            }
        }

        foreach (var (name, value) in add ?? [])
        {
            var template = Parse(value);
            edits.Add(new HeaderEdit(name, request && template.ReadsTrusted ? EditKind.Set : EditKind.Add, template));
        }

        foreach (var name in remove ?? [])
        {
            edits.Add(new HeaderEdit(name, EditKind.Remove, null));
        }

        return edits.Count == 0 ? null : new HeaderEdits([.. edits]);
    }

    public static ValueTemplate Parse(string value) =>
        ValueTemplate.TryParse(value, out var template, out var error) ? template : throw new InvalidOperationException($"'{value}' was validated as a template: {error}");

    public string Describe() =>
        string.Join(", ", new[] { (Kind: EditKind.Add, Word: "add"), (Kind: EditKind.Set, Word: "set"), (Kind: EditKind.Remove, Word: "remove") }
            .Select(k => (k.Word, Count: Edits.Count(e => e.Kind == k.Kind))).Where(k => k.Count > 0).Select(k => $"{k.Word} {k.Count}"));
}

/// <summary>A route's request transform, compiled: header edits, path rewrites and query edits.</summary>
internal sealed class RequestTransform
{
    public RequestTransform(RequestTransformConfig config, bool allowEncodedSlashes)
    {
        Headers = HeaderEdits.Build(config.AddHeaders, config.SetHeaders, config.RemoveHeaders, request: true,
            name => string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase));
        Host = config.SetHeaders?.FirstOrDefault(h => string.Equals(h.Key, "Host", StringComparison.OrdinalIgnoreCase)).Value;
        Rewrites = [.. (config.PathRewrites ?? []).Select(r => PathRewrite.Create(r.Pattern, r.Replacement))];
        AllowEncodedSlashes = allowEncodedSlashes;
        var query = new List<QueryEdit>();
        if (config.QueryParams is { } q)
        {
            query.AddRange((q.Set ?? []).Select(p => new QueryEdit(p.Key, Uri.EscapeDataString(p.Key), EditKind.Set, HeaderEdits.Parse(p.Value))));
            foreach (var (name, text) in q.Add ?? [])
            {
                // Like an added header: a value from the client address or a claim replaces the client's own.
                var value = HeaderEdits.Parse(text);
                query.Add(new QueryEdit(name, Uri.EscapeDataString(name), value.ReadsTrusted ? EditKind.Set : EditKind.Add, value));
            }

            query.AddRange((q.Remove ?? []).Select(n => new QueryEdit(n, Uri.EscapeDataString(n), EditKind.Remove, null)));
        }

        Query = [.. query];
        QueryNames = Query.Select((e, i) => KeyValuePair.Create(e.Name, i)).ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        var headerCount = Headers?.Edits.Length ?? 0;
        Constants = new string?[headerCount + Query.Length];
        var dynamic = false;
        for (var i = 0; i < Constants.Length; i++)
        {
            var template = i < headerCount ? Headers!.Edits[i].Value : Query[i - headerCount].Value;
            Constants[i] = template?.Constant;
            dynamic |= template is { Constant: null };
        }

        Dynamic = dynamic;
        Static = dynamic || Rewrites.Length > 0 ? null : new RequestEdits(this, Constants, null);
    }

    public HeaderEdits? Headers { get; }

    /// <summary>The Host the backend receives instead of its own (or the client's, with preserve_host); null to leave it.</summary>
    public string? Host { get; }

    public PathRewrite[] Rewrites { get; }

    public bool AllowEncodedSlashes { get; }

    public QueryEdit[] Query { get; }

    /// <summary>Query edit index by name (compared after decoding, without case).</summary>
    public FrozenDictionary<string, int> QueryNames { get; }

    /// <summary>The values of header edits then query edits that have no placeholders (null for the others and removals).</summary>
    public string?[] Constants { get; }

    /// <summary>Some value has placeholders.</summary>
    public bool Dynamic { get; }

    /// <summary>The edits of every request when nothing in them depends on the request (no allocation per request).</summary>
    public RequestEdits? Static { get; }

    public int HeaderCount => Headers?.Edits.Length ?? 0;
}

/// <summary>A route's response transform, compiled.</summary>
internal sealed class ResponseTransform(HeaderEdits headers)
{
    public HeaderEdits Headers { get; } = headers;
}

/// <summary>A route's transforms (either side may be absent).</summary>
internal sealed record TransformPolicy(RequestTransform? Request, ResponseTransform? Response, Microsoft.Extensions.Logging.ILogger Logger);

/// <summary>
/// A request transform worked out for one request: the values of its templates, the rewritten path. The upstream
/// request is shaped from it by <see cref="UpstreamShape"/> (path, query) and <see cref="UpstreamHeaders"/> (headers),
/// so every sender and the offline verbs send the same thing.
/// </summary>
internal sealed class RequestEdits(RequestTransform transform, string?[] values, string? path)
{
    public RequestTransform Transform { get; } = transform;

    /// <summary>Header edit values, then query edit values; null where nothing is sent (a removal, a missing value).</summary>
    public string?[] Values { get; } = values;

    /// <summary>The rewritten upstream path (already absolute and checked), or null when the route does not rewrite.</summary>
    public string? Path { get; } = path;

    /// <summary>
    /// The query with the edits applied to what the gateway would send otherwise: parameters set or removed go
    /// (every spelling of the name, compared decoded and without case), set ones come back with their value, added
    /// ones come only when the name is absent. Kept parameters are not re-encoded.
    /// </summary>
    public string Query(string query)
    {
        var edits = Transform.Query;
        if (edits.Length == 0)
        {
            return query;
        }

        Span<bool> present = edits.Length <= 64 ? stackalloc bool[edits.Length] : new bool[edits.Length];
        var builder = new System.Text.StringBuilder(query.Length + 32);
        var changed = false;
        if (query.Length > 1)
        {
            foreach (var range in query.AsSpan(1).Split('&'))
            {
                var pair = query.AsSpan(1)[range];
                var equals = pair.IndexOf('=');
                var rawName = equals < 0 ? pair : pair[..equals];
                if (Transform.QueryNames.TryGetValue(Decode(rawName), out var index))
                {
                    if (edits[index].Kind != EditKind.Add)
                    {
                        changed = true;
                        continue;
                    }

                    present[index] = true;
                }

                builder.Append(builder.Length == 0 ? '?' : '&').Append(pair);
            }
        }

        var offset = Transform.HeaderCount;
        for (var i = 0; i < edits.Length; i++)
        {
            if (edits[i].Kind == EditKind.Remove || (edits[i].Kind == EditKind.Add && present[i]) || Values[offset + i] is not { } value)
            {
                continue;
            }

            changed = true;
            builder.Append(builder.Length == 0 ? '?' : '&').Append(edits[i].EncodedName).Append('=').Append(Uri.EscapeDataString(value));
        }

        return changed ? builder.ToString() : query;
    }

    private static string Decode(ReadOnlySpan<char> name)
    {
        var text = name.ToString();
        return Uri.UnescapeDataString(text.Contains('+', StringComparison.Ordinal) ? text.Replace('+', ' ') : text);
    }
}

/// <summary>
/// What a route's transforms take from each request, for the response cache (which runs before them): the request
/// side's inputs must be part of the cache key, since the backend's answer may depend on what they sent; the
/// response side's per-request edits are never stored, and are made afresh for each response served from the cache.
/// </summary>
internal static class TransformReads
{
    public sealed record RequestInputs(string[] Headers, string[] Claims, bool ClientIp);

    public static RequestInputs Request(RequestTransformConfig? config)
    {
        var templates = new[] { config?.AddHeaders, config?.SetHeaders, config?.QueryParams?.Add, config?.QueryParams?.Set }
            .SelectMany(values => values?.Values ?? (IEnumerable<string>)[])
            .Select(HeaderEdits.Parse)
            .ToList();
        return new RequestInputs(
            [.. templates.SelectMany(t => t.HeadersRead).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)],
            [.. templates.SelectMany(t => t.ClaimsRead).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            templates.Any(t => t.ReadsClientIp));
    }

    /// <summary>The response side's added and set headers whose value depends on the request.</summary>
    public static HeaderEdit[] PerRequestResponseEdits(ResponseTransformConfig? config) =>
        config is null ? [] : [.. HeaderEdits.Build(config.AddHeaders, config.SetHeaders, null, request: false)?.Edits.Where(e => e.Value is { PerRequest: true }) ?? []];
}
