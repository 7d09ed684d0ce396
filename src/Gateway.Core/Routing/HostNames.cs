namespace Gateway.Routing;

/// <summary>Host names as routes compare them.</summary>
internal static class HostNames
{
    /// <summary>
    /// The host of a Host header: port removed, lower case, without the final dot of a fully qualified name
    /// (<c>api.example.com.</c> is <c>api.example.com</c>). No IDN decoding: configured hosts are ASCII (punycode
    /// for international names), so comparing the bytes as sent is exact and cannot fail on malformed input.
    /// </summary>
    public static string Normalize(string authority)
    {
        var host = authority.AsSpan();
        if (host.StartsWith("["))
        {
            var close = host.IndexOf(']');
            host = close > 0 ? host[..(close + 1)] : host;
        }
        else
        {
            var colon = host.LastIndexOf(':');
            if (colon >= 0)
            {
                host = host[..colon];
            }
        }

        if (host.Length > 1 && host[^1] == '.')
        {
            host = host[..^1];
        }

        foreach (var c in host)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                return host.ToString().ToLowerInvariant();
            }
        }

        return host.Length == authority.Length ? authority : host.ToString();
    }
}
