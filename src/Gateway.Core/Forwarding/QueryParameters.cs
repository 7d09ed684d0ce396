namespace Gateway.Forwarding;

/// <summary>Edits a raw query string (<c>?a=1&amp;b=2</c>) without re-encoding what it keeps.</summary>
internal static class QueryParameters
{
    /// <summary>
    /// The query without every parameter of that name, compared after percent-decoding and without case, as the
    /// gateway reads parameters (a credential in <c>ACCESS_TOKEN</c> is the same one as in <c>access_token</c>).
    /// </summary>
    public static string Without(string query, string name)
    {
        if (query.Length <= 1)
        {
            return query;
        }

        var kept = new List<string>();
        foreach (var pair in query[1..].Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var rawName = equals < 0 ? pair : pair[..equals];
            if (!string.Equals(Uri.UnescapeDataString(rawName.Replace('+', ' ')), name, StringComparison.OrdinalIgnoreCase))
            {
                kept.Add(pair);
            }
        }

        return kept.Count == 0 ? "" : "?" + string.Join('&', kept);
    }
}
