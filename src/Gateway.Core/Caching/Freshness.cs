using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Caching;

/// <summary>
/// What a response's own headers say about storing it (RFC 9111 for a shared cache): <c>no-store</c>,
/// <c>private</c> and <c>no-cache</c> (also with field names: the gateway does not revalidate, so it keeps none of
/// those), and its freshness lifetime from <c>s-maxage</c>, then <c>max-age</c>, then <c>Expires</c> against
/// <c>Date</c>, then the configured TTL. A directive that cannot be read makes the response stale (not stored).
/// </summary>
internal readonly record struct Freshness(bool Storable, TimeSpan Lifetime, int InitialAge)
{
    /// <summary>More directives than any real response sends: the rest are not read (and the response is not stored).</summary>
    private const int MaxDirectives = 32;

    public static Freshness Of(IHeaderDictionary headers, TimeSpan defaultLifetime, DateTimeOffset now)
    {
        long? maxAge = null, sMaxAge = null;
        var directives = 0;
        foreach (var line in headers.CacheControl)
        {
            foreach (var part in (line ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (++directives > MaxDirectives)
                {
                    return default;
                }

                var equals = part.IndexOf('=', StringComparison.Ordinal);
                var name = equals < 0 ? part : part[..equals].TrimEnd();
                var value = equals < 0 ? null : part[(equals + 1)..].Trim().Trim('"');
                if (name.Equals("no-store", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("private", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("no-cache", StringComparison.OrdinalIgnoreCase))
                {
                    return default;
                }

                if (name.Equals("max-age", StringComparison.OrdinalIgnoreCase))
                {
                    maxAge = Seconds(value);
                }
                else if (name.Equals("s-maxage", StringComparison.OrdinalIgnoreCase))
                {
                    sMaxAge = Seconds(value);
                }
            }
        }

        var initialAge = headers.Age is [{ } age] && int.TryParse(age, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        TimeSpan lifetime;
        if ((sMaxAge ?? maxAge) is { } seconds)
        {
            lifetime = TimeSpan.FromSeconds(Math.Min(seconds, 10L * 365 * 24 * 3600));
        }
        else if (headers.Expires.Count > 0)
        {
            // An Expires that cannot be read means already expired (RFC 9111 5.3).
            if (!HeaderUtilities.TryParseDate(headers.Expires.ToString(), out var expires))
            {
                return default;
            }

            var date = HeaderUtilities.TryParseDate(headers.Date.ToString(), out var sent) ? sent : now;
            lifetime = expires - date;
        }
        else
        {
            lifetime = defaultLifetime;
        }

        lifetime -= TimeSpan.FromSeconds(initialAge);
        return lifetime > TimeSpan.Zero ? new Freshness(true, lifetime, initialAge) : default;
    }

    /// <summary>A delta-seconds value; -1 (stale) when it is not one.</summary>
    private static long Seconds(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : -1;
}
