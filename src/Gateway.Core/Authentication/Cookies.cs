using System.Text;
using Microsoft.Extensions.Primitives;

namespace Gateway.Authentication;

/// <summary>
/// Reads and removes one cookie in <c>Cookie</c> headers, noticing when the name appears twice. Names compare without
/// case and both <c>;</c> and <c>,</c> separate pairs, as the most lenient server a backend may run reads them: a
/// copy of the cookie spelled <c>Session</c>, or hidden after a comma, is the same credential to the gateway.
/// </summary>
internal static class Cookies
{
    private static readonly char[] Separators = [';', ','];

    public static Credential? Find(StringValues headers, string name)
    {
        string? found = null;
        foreach (var header in headers)
        {
            foreach (var pair in (header ?? "").Split(Separators, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && pair.AsSpan(0, equals).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    if (found is not null)
                    {
                        return Credential.Twice;
                    }

                    found = pair[(equals + 1)..].Trim().Trim('"');
                }
            }
        }

        return found is { Length: > 0 } ? new Credential(found, false) : null;
    }

    /// <summary>The value of the first cookie with this name, or null.</summary>
    public static string? First(StringValues headers, string name)
    {
        foreach (var header in headers)
        {
            foreach (var pair in (header ?? "").Split(Separators, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && pair.AsSpan(0, equals).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    var value = pair[(equals + 1)..].Trim().Trim('"');
                    return value.Length > 0 ? value : null;
                }
            }
        }

        return null;
    }

    /// <summary>The Cookie header without the named cookie, or null when nothing is left.</summary>
    public static string? Without(string header, string name)
    {
        var kept = new StringBuilder(header.Length);
        foreach (var pair in header.Split(Separators, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair.AsSpan(0, equals).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (kept.Length > 0)
            {
                kept.Append("; ");
            }

            kept.Append(pair);
        }

        return kept.Length == 0 ? null : kept.ToString();
    }
}
