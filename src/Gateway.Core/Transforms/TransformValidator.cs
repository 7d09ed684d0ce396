using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Transforms;

/// <summary>
/// Request and response transforms of every route: names and values, templates, regexes and replacements, and what a
/// transform may not touch (framing and hop-by-hop headers, the identity headers the gateway sets after authentication,
/// the request body's own headers) or read (credentials the gateway checks).
/// </summary>
internal static class TransformValidator
{
    /// <summary>Headers that frame a message or belong to one connection: never a transform's, in either direction.</summary>
    private static readonly HashSet<string> Framing = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer", "Proxy-Connection",
    };

    /// <summary>Request headers that describe the body or how it is sent; the body is not transformed, so neither are they.</summary>
    private static readonly HashSet<string> RequestBodyHeaders = new(StringComparer.OrdinalIgnoreCase) { "Expect", "Allow", "Expires", "Last-Modified" };

    /// <summary>Credentials the gateway checks: no template copies them anywhere.</summary>
    private static readonly HashSet<string> Credentials = new(StringComparer.OrdinalIgnoreCase) { "Authorization", "Proxy-Authorization", "Cookie" };

    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        var identity = new HashSet<string>((config.Auth?.IdentityHeaders ?? Authentication.IdentityHeaders.Defaults).Keys.Select(Canonical), StringComparer.OrdinalIgnoreCase);
        var credentials = new HashSet<string>(Credentials, StringComparer.OrdinalIgnoreCase) { config.Auth?.ApiKey?.Header ?? new ApiKeyConfig().Header };
        var rules = new Rules(identity, credentials);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            Transform(d, rules with { Authenticated = route.Auth is not null }, $"routes[{i}].transform", route, config);
        }
    }

    private sealed record Rules(HashSet<string> Identity, HashSet<string> Credentials)
    {
        /// <summary>The route being checked has an auth block (a claim can be there).</summary>
        public bool Authenticated { get; init; }
    }

    private static string Canonical(string name) => name.Replace('_', '-');

    private static void Transform(ConfigDiagnostics d, Rules rules, string path, RouteConfig route, GatewayConfig config)
    {
        if (route.Transform?.Request is { } request)
        {
            var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            Headers(d, rules, path + ".request.set_headers", request.SetHeaders, EditKind.Set, request: true, names);
            Headers(d, rules, path + ".request.add_headers", request.AddHeaders, EditKind.Add, request: true, names);
            HeaderNames(d, rules, path + ".request.remove_headers", request.RemoveHeaders, request: true, names);
            if (request.PathRewrites is { } rewrites)
            {
                for (var i = 0; i < rewrites.Count; i++)
                {
                    Rewrite(d, $"{path}.request.path_rewrites[{i}]", rewrites[i], route.AllowEncodedSlashes);
                }
            }

            if (request.QueryParams is { } query)
            {
                var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                QueryValues(d, rules, path + ".request.query_params.set", query.Set, seen);
                QueryValues(d, rules, path + ".request.query_params.add", query.Add, seen);
                for (var i = 0; i < (query.Remove?.Count ?? 0); i++)
                {
                    QueryName(d, $"{path}.request.query_params.remove[{i}]", query.Remove![i], seen);
                }
            }
        }

        if (route.Transform?.Response is { } response)
        {
            var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            Headers(d, rules, path + ".response.set_headers", response.SetHeaders, EditKind.Set, request: false, names);
            Headers(d, rules, path + ".response.add_headers", response.AddHeaders, EditKind.Add, request: false, names);
            HeaderNames(d, rules, path + ".response.remove_headers", response.RemoveHeaders, request: false, names);
            if ((route.Cache ?? config.Cache) is { Enabled: true } && route.Mock is null
                && names.FirstOrDefault(n => n.Key.Equals(Caching.CacheStage.StatusHeader, StringComparison.OrdinalIgnoreCase)) is { Key: not null } status)
            {
                d.Warning(status.Value, $"this route has a response cache, which writes {Caching.CacheStage.StatusHeader} on every response: the transform's value is replaced by it");
            }

            if ((route.Cors ?? config.Cors) is not null)
            {
                foreach (var (name, at) in names)
                {
                    if (name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase))
                    {
                        d.Warning(at, $"this route has a CORS policy, which owns the Access-Control-* headers of its responses: the transform's {name} is replaced by it");
                    }
                }
            }
        }
    }

    private static void Headers(ConfigDiagnostics d, Rules rules, string path, Dictionary<string, string>? headers, EditKind kind, bool request, Dictionary<string, string> names)
    {
        foreach (var (name, value) in headers ?? [])
        {
            var at = $"{path}.{name}";
            if (!Name(d, rules, at, name, kind, request, names))
            {
                continue;
            }

            ValidationRules.HeaderValue(d, at, value);
            if (!ValueTemplate.TryParse(value, out var template, out var error))
            {
                d.Error(at, error);
                continue;
            }

            Reads(d, rules, at, template);
            if (request && name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                if (template.Constant is not { } constant)
                {
                    d.Error(at, "Host takes no placeholders: the backend's host comes from config only");
                }
                else if (!IsAuthority(constant))
                {
                    d.Error(at, $"'{constant}' is not a host name (with an optional port)");
                }
            }
        }
    }

    /// <summary>A host name, an IPv4 address or a bracketed IPv6 address, with an optional port of digits only.</summary>
    private static bool IsAuthority(string authority)
    {
        var host = authority;
        var port = "";
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = authority[1..close];
            port = authority[(close + 1)..];
            if (!System.Net.IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else
        {
            var colon = authority.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                host = authority[..colon];
                port = authority[colon..];
            }

            var labels = host.Split('.');
            if (host.Length == 0 || Uri.CheckHostName(host) != UriHostNameType.Dns && Uri.CheckHostName(host) != UriHostNameType.IPv4
                || (labels.All(l => l.Length > 0 && l.All(char.IsAsciiDigit)) && Uri.CheckHostName(host) != UriHostNameType.IPv4))
            {
                return false;
            }
        }

        return port.Length == 0
            || (port.Length is > 1 and <= 6 && port[0] == ':' && port.AsSpan(1).ContainsAnyExcept("0123456789") == false
                && int.Parse(port.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture) is > 0 and < 65536);
    }

    private static void HeaderNames(ConfigDiagnostics d, Rules rules, string path, List<string>? headers, bool request, Dictionary<string, string> names)
    {
        for (var i = 0; i < (headers?.Count ?? 0); i++)
        {
            Name(d, rules, $"{path}[{i}]", headers![i], EditKind.Remove, request, names);
        }
    }

    /// <summary>Whether a header name may be edited this way (reporting why not).</summary>
    private static bool Name(ConfigDiagnostics d, Rules rules, string at, string name, EditKind kind, bool request, Dictionary<string, string> names)
    {
        if (!ValidationRules.IsToken(name))
        {
            d.Error(at, $"'{name}' is not a valid header name");
            return false;
        }

        if (names.TryGetValue(name, out var first))
        {
            d.Error(at, $"{name} is already transformed at {first}: a header is added, set or removed, not two of them");
            return false;
        }

        names[name] = at;
        if (Framing.Contains(name) || (kind != EditKind.Remove && Forwarding.HopByHop.Fixed.Contains(name)))
        {
            d.Error(at, $"{name} frames the message or belongs to one connection: the gateway writes it, a transform cannot"
                + " (a second framing header is how requests are smuggled)");
            return false;
        }

        if (!request)
        {
            return true;
        }

        if (rules.Identity.Contains(Canonical(name)))
        {
            d.Error(at, $"{name} is an identity header: the gateway sets it from the authenticated identity only (auth.identity_headers), a transform cannot add, set or remove it");
            return false;
        }

        if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) && kind != EditKind.Set)
        {
            d.Error(at, "Host is always sent (the backend's, or the client's with preserve_host); only set_headers can replace it");
            return false;
        }

        if (kind != EditKind.Remove && (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) || RequestBodyHeaders.Contains(name)))
        {
            d.Error(at, $"{name} describes the request body, which transforms do not change: it can be removed, not added or set");
            return false;
        }

        return true;
    }

    /// <summary>A template's <c>{header:NAME}</c> may not copy credentials or the identity headers a client could forge.</summary>
    private static void Reads(ConfigDiagnostics d, Rules rules, string at, ValueTemplate template)
    {
        if (!rules.Authenticated && template.ClaimsRead.FirstOrDefault() is { } claim)
        {
            d.Warning(at, $"{{claim:{claim}}} reads a verified token's claim, but this route has no auth block: it is always missing, so the value is never sent");
        }

        foreach (var header in template.HeadersRead)
        {
            if (rules.Credentials.Contains(header))
            {
                d.Error(at, $"{{header:{header}}} would copy a credential the gateway checks: credentials are never copied by a transform");
            }
            else if (rules.Identity.Contains(Canonical(header)))
            {
                d.Error(at, $"{{header:{header}}} reads the client's copy of an identity header, which is never trusted: use {{claim:NAME}}");
            }
        }
    }

    private static void QueryValues(ConfigDiagnostics d, Rules rules, string path, Dictionary<string, string>? values, Dictionary<string, string> seen)
    {
        foreach (var (name, value) in values ?? [])
        {
            var at = $"{path}.{name}";
            if (!QueryName(d, at, name, seen))
            {
                continue;
            }

            if (!ValueTemplate.TryParse(value, out var template, out var error))
            {
                d.Error(at, error);
                continue;
            }

            if (template.Constant is { } constant && ValueTemplate.HasControl(constant))
            {
                d.Error(at, "a query value may not contain control characters");
            }

            Reads(d, rules, at, template);
        }
    }

    private static bool QueryName(ConfigDiagnostics d, string at, string name, Dictionary<string, string> seen)
    {
        if (name.Length == 0 || ValueTemplate.HasControl(name))
        {
            d.Error(at, "a query parameter needs a name without control characters");
            return false;
        }

        if (seen.TryGetValue(name, out var first))
        {
            d.Error(at, $"the query parameter {name} is already edited at {first} (names are compared without case)");
            return false;
        }

        seen[name] = at;
        return true;
    }

    private static void Rewrite(ConfigDiagnostics d, string path, PathRewriteConfig rewrite, bool allowEncodedSlashes)
    {
        PathRewrite compiled;
        try
        {
            compiled = PathRewrite.Create(rewrite.Pattern, rewrite.Replacement);
        }
        catch (ArgumentException e)
        {
            d.Error(path + ".pattern", $"regex does not compile: {e.Message}");
            return;
        }

        if (compiled.Backtracking)
        {
            d.Warning(path + ".pattern", "this pattern needs the backtracking regex engine (backreferences, lookarounds, atomic groups or conditionals): "
                + $"each match may take up to {PathRewrite.BacktrackingTimeout.TotalMilliseconds:0} ms, and a path that runs past that is answered 400");
        }

        if (PathRewrite.CheckReplacement(compiled.Regex, rewrite.Replacement, out var error) is not { } literal)
        {
            d.Error(path + ".replacement", error);
            return;
        }

        var sample = literal.StartsWith('/') ? literal : "/" + literal;
        if (!PathRewrite.IsSendable(sample, allowEncodedSlashes))
        {
            d.Error(path + ".replacement", "makes a path that cannot be sent: no dot segments, control characters, '?', '#', a backslash, %00"
                + (allowEncodedSlashes ? "" : ", or encoded slashes (%2F, %5C) on a route without allow_encoded_slashes")
                + " (query edits go in query_params)");
        }

        if (!rewrite.Replacement.StartsWith('/') && !rewrite.Replacement.StartsWith('$'))
        {
            d.Warning(path + ".replacement", "does not start with '/'; the rewritten path will be made absolute");
        }
    }
}
