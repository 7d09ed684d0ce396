using System.Collections.Frozen;
using Gateway.Configuration;
using Microsoft.Net.Http.Headers;

namespace Gateway.Logging;

/// <summary>
/// What the access log leaves out, compiled once per snapshot: the headers whose values it never writes
/// (<c>Authorization</c>, <c>Cookie</c>, <c>Set-Cookie</c>, the API-key header and <c>logging.redact.headers</c>;
/// of these only <c>Host</c> and <c>User-Agent</c> could be fields of a line, and they read <c>***</c> when listed),
/// and the query parameters dropped from the logged path (<c>logging.redact.query</c>).
/// </summary>
internal sealed class LogRedaction
{
    public const string Mask = "***";

    public static readonly LogRedaction Default = new(FrozenSet.Create(StringComparer.OrdinalIgnoreCase, Credentials), FrozenSet<string>.Empty);

    private static readonly string[] Credentials = [HeaderNames.Authorization, HeaderNames.ProxyAuthorization, HeaderNames.Cookie, HeaderNames.SetCookie];

    private LogRedaction(FrozenSet<string> headers, FrozenSet<string> query)
    {
        Headers = headers;
        Query = query;
        HidesHost = headers.Contains(HeaderNames.Host);
        HidesUserAgent = headers.Contains(HeaderNames.UserAgent);
    }

    /// <summary>Headers never logged, case-insensitive.</summary>
    public FrozenSet<string> Headers { get; }

    /// <summary>Query parameter names (case-insensitive) dropped from the logged path.</summary>
    public FrozenSet<string> Query { get; }

    public bool HidesHost { get; }

    public bool HidesUserAgent { get; }

    public static LogRedaction For(GatewayConfig config)
    {
        var redact = config.Logging.Redact;
        if (redact is null && config.Auth?.ApiKey is null)
        {
            return Default;
        }

        var headers = new List<string>(Credentials);
        if (config.Auth?.ApiKey is { } apiKey)
        {
            headers.Add(apiKey.Header);
        }

        headers.AddRange(redact?.Headers ?? []);
        return new LogRedaction(headers.ToFrozenSet(StringComparer.OrdinalIgnoreCase), (redact?.Query ?? []).ToFrozenSet(StringComparer.OrdinalIgnoreCase));
    }
}
