using System.Collections.Frozen;
using System.Net.Http.Headers;
using Gateway.Configuration.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Forwarding;

/// <summary>
/// Hop-by-hop headers (RFC 9110 section 7.6.1): the fixed set, plus every header a message's
/// <c>Connection</c> header names. They describe one connection and are never forwarded.
/// </summary>
internal static class HopByHop
{
    /// <summary>
    /// Headers never forwarded, in either direction (beside the ones named in Connection): the hop-by-hop set, the
    /// proxy's own credentials and challenges, and connection-level HTTP/2 and ALPN headers. The same set YARP's
    /// forwarder drops, so both forwarding paths agree.
    /// </summary>
    public static readonly FrozenSet<string> Fixed = new[]
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization", "Proxy-Features", "Proxy-Instruction",
        "Security-Scheme", "ALPN", "Close", "HTTP2-Settings", "Upgrade-Insecure-Requests", "Alt-Svc",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly HashSet<string> ContentHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Allow", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
        "Content-Location", "Content-MD5", "Content-Range", "Content-Type", "Expires", "Last-Modified",
    };

    /// <summary>
    /// The header names listed in Connection, except connection options like keep-alive and close, and except the
    /// headers that frame or address the message (Content-Length, Host): those are never the client's to remove.
    /// </summary>
    public static List<string> Nominated(StringValues connection)
    {
        var names = new List<string>();
        foreach (var value in connection)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var token in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!token.Equals("close", StringComparison.OrdinalIgnoreCase) && !token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
                    && !token.Equals("upgrade", StringComparison.OrdinalIgnoreCase) && !token.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                    && !token.Equals("Host", StringComparison.OrdinalIgnoreCase) && ValidationRules.IsToken(token))
                {
                    names.Add(token);
                }
            }
        }

        return names;
    }

    /// <summary>
    /// The Connection header as the server hands it to the gateway. Kestrel replaces the whole header with the
    /// single connection option it contains (keep-alive, close or upgrade) when there is exactly one, so header
    /// names listed beside it never reach the gateway. The offline tools use this to show what really happens.
    /// </summary>
    public static StringValues AsServerSees(StringValues connection)
    {
        var options = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in connection)
        {
            foreach (var token in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase) || token.Equals("close", StringComparison.OrdinalIgnoreCase)
                    || token.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
                {
                    options.Add(token.ToLowerInvariant());
                }
            }
        }

        return options.Count == 1 ? new StringValues(options.Single() == "upgrade" ? "Upgrade" : options.Single()) : connection;
    }

    public static void RemoveNominated(StringValues connection, HttpRequestMessage request)
    {
        if (connection.Count == 0)
        {
            return;
        }

        foreach (var name in Nominated(connection))
        {
            if (ContentHeaders.Contains(name))
            {
                request.Content?.Headers.Remove(name);
            }
            else
            {
                request.Headers.Remove(name);
            }
        }
    }

    public static void RemoveNominated(HttpResponseHeaders upstream, IHeaderDictionary response)
    {
        if (!upstream.NonValidated.TryGetValues("Connection", out var values))
        {
            return;
        }

        foreach (var name in Nominated(new StringValues([.. values])))
        {
            response.Remove(name);
        }
    }
}
