using System.Text;
using Gateway.Configuration.Validation;
using Gateway.Pipeline;

namespace Gateway.Transforms;

/// <summary>What a template made of one request.</summary>
internal enum TemplateOutcome : byte
{
    /// <summary>A value to send.</summary>
    Value,

    /// <summary>A header or claim it reads is absent (or there is no client address): the value is not sent at all.</summary>
    Missing,

    /// <summary>What it copied from the request holds a control character (CR, LF, NUL, ...): never sent.</summary>
    Unsafe,
}

/// <summary>
/// A transform's value, parsed once when the config is compiled: literal text and placeholders
/// (<c>{client_ip}</c>, <c>{request_id}</c>, <c>{route}</c>, <c>{method}</c>, <c>{path}</c>, <c>{header:NAME}</c>,
/// <c>{claim:NAME}</c>); <c>{{</c> and <c>}}</c> stand for one brace. A template without placeholders is its constant
/// and costs nothing per request.
/// </summary>
internal sealed class ValueTemplate
{
    private enum Kind : byte
    {
        Literal,
        ClientIp,
        RequestId,
        Route,
        Method,
        Path,
        Header,
        Claim,
    }

    private readonly record struct Part(Kind Kind, string Text);

    private readonly Part[] _parts;

    private ValueTemplate(Part[] parts, string? constant)
    {
        _parts = parts;
        Constant = constant;
    }

    /// <summary>The value when the template has no placeholder; null otherwise.</summary>
    public string? Constant { get; }

    /// <summary>The request headers its <c>{header:NAME}</c> placeholders read.</summary>
    public IEnumerable<string> HeadersRead => _parts.Where(p => p.Kind == Kind.Header).Select(p => p.Text);

    /// <summary>The token claims its <c>{claim:NAME}</c> placeholders read.</summary>
    public IEnumerable<string> ClaimsRead => _parts.Where(p => p.Kind == Kind.Claim).Select(p => p.Text);

    public bool ReadsClientIp => _parts.Any(p => p.Kind == Kind.ClientIp);

    /// <summary>Some part comes from what the gateway established (the client address, a verified claim), which no client may choose.</summary>
    public bool ReadsTrusted => _parts.Any(p => p.Kind is Kind.ClientIp or Kind.Claim);

    /// <summary>Some part differs from one request to the next of the same route, path and query (all but <c>{route}</c>, <c>{method}</c>, <c>{path}</c>).</summary>
    public bool PerRequest => _parts.Any(p => p.Kind is Kind.ClientIp or Kind.RequestId or Kind.Header or Kind.Claim);

    /// <summary>Parses a template; false with a message naming the first thing wrong.</summary>
    public static bool TryParse(string text, out ValueTemplate template, out string error)
    {
        template = null!;
        error = "";
        if (text.IndexOfAny(['{', '}']) < 0)
        {
            template = new ValueTemplate([], text);
            return true;
        }

        var parts = new List<Part>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '}')
            {
                if (i + 1 < text.Length && text[i + 1] == '}')
                {
                    literal.Append('}');
                    i++;
                    continue;
                }

                error = $"a lone '}}' at position {i + 1}; write '}}}}' for a literal brace";
                return false;
            }

            if (c != '{')
            {
                literal.Append(c);
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '{')
            {
                literal.Append('{');
                i++;
                continue;
            }

            var end = text.IndexOf('}', i + 1);
            if (end < 0)
            {
                error = $"the placeholder at position {i + 1} has no closing '}}'; write '{{{{' for a literal brace";
                return false;
            }

            if (!TryPlaceholder(text[(i + 1)..end], out var part, out error))
            {
                return false;
            }

            if (literal.Length > 0)
            {
                parts.Add(new Part(Kind.Literal, literal.ToString()));
                literal.Clear();
            }

            parts.Add(part);
            i = end;
        }

        if (literal.Length > 0)
        {
            parts.Add(new Part(Kind.Literal, literal.ToString()));
        }

        template = parts.Count == 0 ? new ValueTemplate([], "")
            : parts.Count == 1 && parts[0].Kind == Kind.Literal ? new ValueTemplate([], parts[0].Text)
            : new ValueTemplate([.. parts], null);
        return true;
    }

    private static bool TryPlaceholder(string name, out Part part, out string error)
    {
        error = "";
        part = name switch
        {
            "client_ip" => new Part(Kind.ClientIp, ""),
            "request_id" => new Part(Kind.RequestId, ""),
            "route" => new Part(Kind.Route, ""),
            "method" => new Part(Kind.Method, ""),
            "path" => new Part(Kind.Path, ""),
            _ => default,
        };
        if (part.Kind != Kind.Literal)
        {
            return true;
        }

        if (name.StartsWith("header:", StringComparison.Ordinal))
        {
            var header = name["header:".Length..];
            if (!ValidationRules.IsToken(header))
            {
                error = $"'{{{name}}}' does not name a valid header";
                return false;
            }

            part = new Part(Kind.Header, header);
            return true;
        }

        if (name.StartsWith("claim:", StringComparison.Ordinal))
        {
            var claim = name["claim:".Length..];
            if (claim.Length == 0 || claim.AsSpan().ContainsAny('{', '"') || claim.Any(char.IsControl))
            {
                error = $"'{{{name}}}' does not name a claim";
                return false;
            }

            part = new Part(Kind.Claim, claim);
            return true;
        }

        error = $"unknown placeholder '{{{name}}}' (known: {{client_ip}}, {{request_id}}, {{route}}, {{method}}, {{path}}, {{header:NAME}}, {{claim:NAME}}; write '{{{{' for a literal brace)";
        return false;
    }

    /// <summary>
    /// The value for this request (allocates only when the template has placeholders). What it copies from the request
    /// (a header, a claim, the request id, the path) is <see cref="TemplateOutcome.Unsafe"/> with a control character in
    /// it; for a header value (<paramref name="header"/>), text beyond printable ASCII makes it
    /// <see cref="TemplateOutcome.Missing"/>, as no header can carry it the same way on every path.
    /// </summary>
    public TemplateOutcome Render(Exchange exchange, bool header, out string value)
    {
        if (Constant is { } constant)
        {
            value = constant;
            return TemplateOutcome.Value;
        }

        value = "";
        var builder = new StringBuilder();
        foreach (var part in _parts)
        {
            string? text;
            var fromRequest = true;
            switch (part.Kind)
            {
                case Kind.Literal:
                    builder.Append(part.Text);
                    continue;
                case Kind.ClientIp:
                    text = exchange.ClientIp?.ToString();
                    fromRequest = false;
                    break;
                case Kind.RequestId:
                    text = exchange.RequestId;
                    break;
                case Kind.Route:
                    text = exchange.Route?.Id ?? "";
                    fromRequest = false;
                    break;
                case Kind.Method:
                    text = exchange.Method;
                    break;
                case Kind.Path:
                    text = exchange.Path;
                    break;
                case Kind.Header:
                    if (!MayRead(exchange, part.Text))
                    {
                        return TemplateOutcome.Missing;
                    }

                    var values = exchange.RequestHeaders[part.Text];
                    text = values.Count == 0 ? null : values.Count == 1 ? values[0] : string.Join(", ", values.ToArray());
                    break;
                default:
                    var claims = exchange.Identity?.Claim(part.Text);
                    text = claims is not { Count: > 0 } ? null : claims.Count == 1 ? claims[0] : string.Join(',', claims);
                    break;
            }

            if (text is null)
            {
                return TemplateOutcome.Missing;
            }

            if (fromRequest && HasControl(text))
            {
                return TemplateOutcome.Unsafe;
            }

            if (header && !ValidationRules.IsPrintableAscii(text))
            {
                return TemplateOutcome.Missing;
            }

            builder.Append(text);
        }

        value = builder.ToString();
        return TemplateOutcome.Value;
    }

    /// <summary>
    /// What a client says about its own address or how it reached the gateway (<c>X-Forwarded-*</c>, <c>Forwarded</c>,
    /// <c>server.proxy_only_headers</c>) is read only from a trusted proxy: from anyone else it is missing, as it never
    /// reaches the backend either.
    /// </summary>
    private static bool MayRead(Exchange exchange, string name)
    {
        var config = exchange.Config;
        if (!(name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase) || name.Equals("Forwarded", StringComparison.OrdinalIgnoreCase)
            || config.ProxyOnlyHeaders.Contains(name)))
        {
            return true;
        }

        return exchange.Peer is { } peer && config.TrustedProxies.Length > 0 && config.IsTrustedProxy(peer);
    }

    /// <summary>
    /// CR, LF, NUL and every other control character but HTAB (C0, DEL, C1), and the Unicode line and paragraph
    /// separators: what no header line (or decoded query) may carry.
    /// </summary>
    public static bool HasControl(string text)
    {
        foreach (var c in text)
        {
            if ((char.IsControl(c) && c != '\t') || c is '\u2028' or '\u2029')
            {
                return true;
            }
        }

        return false;
    }


    public override string ToString() => Constant ?? string.Concat(_parts.Select(p => p.Kind switch
    {
        Kind.Literal => p.Text.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal),
        Kind.Header => "{header:" + p.Text + "}",
        Kind.Claim => "{claim:" + p.Text + "}",
        Kind.ClientIp => "{client_ip}",
        Kind.RequestId => "{request_id}",
        Kind.Route => "{route}",
        Kind.Method => "{method}",
        _ => "{path}",
    }));
}
