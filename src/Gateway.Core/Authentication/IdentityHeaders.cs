namespace Gateway.Authentication;

/// <summary>
/// Headers the gateway sets on the upstream request from the identity. The client's own copies of these
/// headers are always removed first (on every route), so a backend can trust them.
/// Sources: <c>claim:NAME</c> (a token claim), <c>roles</c>, <c>scopes</c>, <c>subject</c>, <c>key:name</c>, <c>key:tier</c>.
/// </summary>
internal sealed class IdentityHeaders
{
    public static readonly IReadOnlyDictionary<string, string> Defaults = new Dictionary<string, string>
    {
        ["X-User-Id"] = "claim:sub",
        ["X-User-Roles"] = "roles",
        ["X-Api-Key-Name"] = "key:name",
    };

    private readonly (string Header, string Source)[] _headers;

    public IdentityHeaders(IReadOnlyDictionary<string, string>? configured)
    {
        _headers = [.. (configured ?? Defaults).Select(pair => (pair.Key, pair.Value))];
        Names = [.. _headers.Select(h => h.Header)];
    }

    /// <summary>Every header name the gateway owns (removed from the client's request).</summary>
    public string[] Names { get; }

    public static bool IsValidSource(string source) =>
        source is "roles" or "scopes" or "subject" or "key:name" or "key:tier"
        || (source.StartsWith("claim:", StringComparison.Ordinal) && source.Length > 6);

    /// <summary>The headers to add for an identity (values with control characters are left out).</summary>
    public IEnumerable<KeyValuePair<string, string>> For(Identity identity)
    {
        foreach (var (header, source) in _headers)
        {
            var value = source switch
            {
                "roles" => string.Join(',', identity.Roles),
                "scopes" => string.Join(' ', identity.Scopes),
                "subject" => identity.Subject ?? "",
                "key:name" => identity.ApiKey?.Name ?? "",
                "key:tier" => identity.ApiKey?.Tier ?? "",
                _ => string.Join(',', identity.Claim(source[6..])),
            };
            if (value.Length > 0 && IsSafe(value))
            {
                yield return new(header, value);
            }
        }
    }

    private static bool IsSafe(string value)
    {
        foreach (var c in value)
        {
            if (c < 0x20 || c == 0x7F)
            {
                return false;
            }
        }

        return value.Length <= 4096;
    }
}
