using System.Text;
using Microsoft.Extensions.Primitives;

namespace Gateway.Authentication;

/// <summary>Reads and removes one cookie in <c>Cookie</c> headers, noticing when the name appears twice.</summary>
internal static class Cookies
{
    public static Credential? Find(StringValues headers, string name)
    {
        string? found = null;
        foreach (var header in headers)
        {
            foreach (var pair in (header ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && pair.AsSpan(0, equals).Trim().SequenceEqual(name))
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
            foreach (var pair in (header ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && pair.AsSpan(0, equals).Trim().SequenceEqual(name))
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
        foreach (var pair in header.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair.AsSpan(0, equals).Trim().SequenceEqual(name))
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
