using System.Security.Cryptography;
using System.Text;
using Gateway.Pipeline;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Caching;

/// <summary>
/// The cache key of a request: everything the backend sees that may change its answer and that varies between
/// callers. Route, method (HEAD reads GET's entries), scheme, the Host as sent (its case and port too: a backend may
/// reflect them), the normalized path, the query with its parameters sorted, the configured key headers, the
/// forwarding headers a trusted proxy passed on, and, unless the cache is shared, the caller: the gateway's verified
/// identity and the identity headers it forwards, and any credential the backend itself receives (an
/// <c>Authorization</c> or <c>Cookie</c> header the gateway passes on). The key is the SHA-256 of all that, so no
/// credential, path or header value is ever held in clear as a key (in memory or in Redis).
/// </summary>
internal static class CacheKeys
{
    [ThreadStatic]
    private static StringBuilder? _builder;

    public static string Build(Exchange exchange, CachePolicy policy)
    {
        var text = _builder ??= new StringBuilder(256);
        text.Clear();
        var headers = exchange.RequestHeaders;
        text.Append(policy.RouteId).Append('\n').Append(policy.Fingerprint).Append('\n')
            .Append(exchange.IsHead ? "GET" : exchange.Method).Append('\n')
            .Append(exchange.Scheme).Append('\n')
            .Append(exchange.Authority).Append('\n')
            .Append(exchange.Path).Append('\n');
        AppendSortedQuery(text, exchange.Query);
        foreach (var name in policy.KeyHeaders)
        {
            AppendHeader(text, name, headers[name]);
        }

        AppendTransformInputs(text, exchange, policy.TransformInputs);

        var peer = exchange.Peer;
        if (peer is not null && exchange.Config.TrustedProxies.Length > 0 && exchange.Config.IsTrustedProxy(peer))
        {
            // What a trusted proxy says about the original request reaches the backend: it is part of the request.
            foreach (var (name, values) in headers)
            {
                if (name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase) || name.Equals(Forwarding.ForwardedHeaders.Forwarded, StringComparison.OrdinalIgnoreCase)
                    || exchange.Config.ProxyOnlyHeaders.Contains(name) || policy.UntrustedDropped.Contains(name))
                {
                    AppendHeader(text, name.ToLowerInvariant(), values);
                }
            }
        }

        if (!policy.Shared)
        {
            AppendCaller(text, exchange, policy);
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        if (text.Capacity > 4096)
        {
            _builder = null;
        }

        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>What the route's request transform copies into the upstream request (headers, claims, the client address), shared or not.</summary>
    private static void AppendTransformInputs(StringBuilder text, Exchange exchange, Transforms.TransformReads.RequestInputs inputs)
    {
        foreach (var name in inputs.Headers)
        {
            AppendHeader(text, "t:" + name.ToLowerInvariant(), exchange.RequestHeaders[name]);
        }

        foreach (var claim in inputs.Claims)
        {
            var values = exchange.Identity?.Claim(claim);
            text.Append("\nc:").Append(claim).Append(':').Append(values?.Count ?? -1);
            foreach (var value in values ?? [])
            {
                text.Append('\n').Append(value);
            }
        }

        if (inputs.ClientIp)
        {
            text.Append("\nip:").Append(exchange.ClientIp?.ToString());
        }
    }

    private static void AppendCaller(StringBuilder text, Exchange exchange, CachePolicy policy)
    {
        text.Append("\ncaller\n");
        if (exchange.Identity is { } identity)
        {
            text.Append(identity.Method).Append('\n')
                .Append(identity.Token?.Issuer).Append('\n')
                .Append(identity.Subject).Append('\n')
                .Append(identity.ApiKey?.Id).Append('\n');
            if (exchange.IdentityHeaders is { } forwarded)
            {
                foreach (var (name, value) in forwarded)
                {
                    text.Append(name).Append(':').Append(value).Append('\n');
                }
            }
        }

        var headers = exchange.RequestHeaders;
        if (!policy.AuthorizationKept && headers.Authorization.Count > 0)
        {
            AppendHeader(text, "authorization", headers.Authorization);
        }

        if (headers.Cookie.Count > 0)
        {
            AppendHeader(text, "cookie", headers.Cookie);
        }
    }

    private static void AppendHeader(StringBuilder text, string name, StringValues values)
    {
        text.Append("\nh:").Append(name).Append(':').Append(values.Count);
        foreach (var value in values)
        {
            text.Append('\n').Append(value);
        }
    }

    /// <summary>Query parameters in ordinal order of their encoded names (<c>?b=2&amp;a=1</c> and <c>?a=1&amp;b=2</c> share an entry).</summary>
    private static void AppendSortedQuery(StringBuilder text, string query)
    {
        text.Append("q:");
        if (query.Length <= 1)
        {
            return;
        }

        var body = query.AsSpan(1);
        if (body.IndexOf('&') < 0)
        {
            text.Append(body);
            return;
        }

        // Sorted by name only, stably: the values of a repeated parameter keep their order (?id=2&id=1 is not
        // ?id=1&id=2 to a backend that reads the first), and empty segments stay.
        var parts = query[1..].Split('&');
        var order = new int[parts.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // The index breaks ties, so equal names keep their order (the sort itself is not stable).
        Array.Sort(order, (x, y) => CompareNames(parts[x], parts[y]) is var c and not 0 ? c : x.CompareTo(y));

        for (var i = 0; i < order.Length; i++)
        {
            text.Append(i == 0 ? "" : "&").Append(parts[order[i]]);
        }
    }

    private static int CompareNames(string a, string b) => NameOf(a).SequenceCompareTo(NameOf(b));

    private static ReadOnlySpan<char> NameOf(string part) => part.AsSpan(0, part.IndexOf('=') is var at and >= 0 ? at : part.Length);

    /// <summary>The request values of the headers a response varies on (absent and empty are different).</summary>
    public static KeyValuePair<string, string>[] VaryValues(Exchange exchange, string[] names)
    {
        var values = new KeyValuePair<string, string>[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var value = exchange.RequestHeaders[names[i]];
            values[i] = new(names[i], value.Count == 0 ? "\0" : value.ToString());
        }

        return values;
    }

    /// <summary>Whether a request sends what a stored response varies on, value for value.</summary>
    public static bool VaryMatches(Exchange exchange, CachedResponse response)
    {
        foreach (var (name, stored) in response.Vary)
        {
            var value = exchange.RequestHeaders[name];
            var current = value.Count == 0 ? "\0" : value.ToString();
            if (!string.Equals(current, stored, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The header names of a response's Vary, lower case; null when it varies on everything (<c>*</c>) or on too much to key.</summary>
    public static string[]? VaryNames(StringValues vary)
    {
        if (vary.Count == 0)
        {
            return [];
        }

        var names = new List<string>();
        foreach (var line in vary)
        {
            foreach (var part in (line ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (part == "*" || names.Count >= 16 || !Configuration.Validation.ValidationRules.IsToken(part))
                {
                    return null;
                }

                var name = part.ToLowerInvariant();
                if (!names.Contains(name))
                {
                    names.Add(name);
                }
            }
        }

        return [.. names];
    }

    /// <summary>Whether <c>If-None-Match</c> names the stored response's entity tag (weak comparison, RFC 9110 13.1.2).</summary>
    public static bool NoneMatch(StringValues ifNoneMatch, string? etag)
    {
        var opaque = etag is null ? default : Opaque(etag);
        foreach (var line in ifNoneMatch)
        {
            foreach (var part in (line ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                // "*" matches any current representation, tagged or not (RFC 9110 13.1.2); a tag only the same tag.
                if (part == "*" || (etag is not null && Opaque(part).SequenceEqual(opaque)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static ReadOnlySpan<char> Opaque(string tag) => tag.StartsWith("W/", StringComparison.Ordinal) ? tag.AsSpan(2) : tag.AsSpan();

    /// <summary>Whether <c>If-Modified-Since</c> is no earlier than the stored <c>Last-Modified</c>.</summary>
    public static bool NotModifiedSince(StringValues ifModifiedSince, string? lastModified) =>
        lastModified is not null
        && HeaderUtilities.TryParseDate(ifModifiedSince.ToString(), out var since)
        && HeaderUtilities.TryParseDate(lastModified, out var modified)
        && modified <= since;
}
