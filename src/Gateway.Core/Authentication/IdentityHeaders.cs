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
        _names = new HashSet<string>(Names, StringComparer.OrdinalIgnoreCase);
        _canonical = new HashSet<string>(Names.Select(Canonical), StringComparer.OrdinalIgnoreCase);
    }

    private readonly HashSet<string> _names;

    private readonly HashSet<string> _canonical;

    /// <summary>
    /// True for a client header the gateway removes as one of its own: a configured name, or (when the request has
    /// headers with '_' at all) a look-alike of one.
    /// </summary>
    public bool Owns(string name, bool checkLookAlikes) =>
        _names.Contains(name) || (checkLookAlikes && name.Contains('_', StringComparison.Ordinal) && _canonical.Contains(Canonical(name)));

    /// <summary>
    /// Client headers that servers treat as one of ours: <c>X_User_Id</c> becomes <c>HTTP_X_USER_ID</c> in CGI-style
    /// backends, exactly like <c>X-User-Id</c>. They are removed too.
    /// </summary>
    public IEnumerable<string> LookAlikes(Microsoft.AspNetCore.Http.IHeaderDictionary headers)
    {
        foreach (var name in headers.Keys)
        {
            if (name.Contains('_', StringComparison.Ordinal) && _canonical.Contains(Canonical(name)))
            {
                yield return name;
            }
        }
    }

    private static string Canonical(string name) => name.Replace('_', '-');

    /// <summary>Every header name the gateway owns (removed from the client's request).</summary>
    public string[] Names { get; }

    public static bool IsValidSource(string source) =>
        source is "roles" or "scopes" or "subject" or "key:name" or "key:tier"
        || (source.StartsWith("claim:", StringComparison.Ordinal) && source.Length > 6);

    /// <summary>The headers to add for an identity (values with control characters are left out); see <see cref="Identity.HeadersFor"/>.</summary>
    public KeyValuePair<string, string>[] For(Identity identity)
    {
        var result = new List<KeyValuePair<string, string>>(_headers.Length);
        foreach (var (header, source) in _headers)
        {
            // Items that contain the list separator would read as several items to the backend: they are left out.
            var value = source switch
            {
                "roles" => Join(identity.Roles, ','),
                "scopes" => Join(identity.Scopes, ' '),
                "subject" => identity.Subject ?? "",
                "key:name" => identity.ApiKey?.Name ?? "",
                "key:tier" => identity.ApiKey?.Tier ?? "",
                _ => Join(identity.Claim(source[6..]), ','),
            };
            if (value.Length > 0 && IsSafe(value))
            {
                result.Add(new(header, value));
            }
        }

        return [.. result];
    }

    private static string Join(IReadOnlyList<string> items, char separator) =>
        items.Count == 1 ? (items[0].Contains(separator, StringComparison.Ordinal) ? "" : items[0])
        : string.Join(separator, items.Where(i => !i.Contains(separator, StringComparison.Ordinal)));

    /// <summary>Printable ASCII only: header values cannot carry anything else safely (HttpClient refuses it).</summary>
    public static bool IsSafe(string value) => value.Length <= 4096 && Configuration.Validation.ValidationRules.IsPrintableAscii(value, tab: false);
}
