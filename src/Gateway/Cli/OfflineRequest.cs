using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Cli;

/// <summary>A request built from the command line (or a test case) for the offline verbs; no network.</summary>
internal static class OfflineRequest
{
    public static bool TryCreate(string method, string url, IEnumerable<string> headerLines, out HttpContext context, out string rawTarget, out string? error)
    {
        context = new DefaultHttpContext();
        error = null;
        var request = context.Request;
        request.Method = Microsoft.AspNetCore.Http.HttpMethods.GetCanonicalizedValue(method.ToUpperInvariant());
        request.Scheme = "http";
        var host = "localhost";
        rawTarget = url;
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
        {
            request.Scheme = url[..scheme].ToLowerInvariant();
            var rest = url[(scheme + 3)..];
            var pathStart = rest.IndexOfAny(['/', '?']);
            host = pathStart < 0 ? rest : rest[..pathStart];
            rawTarget = pathStart < 0 ? "/" : rest[pathStart] == '?' ? "/" + rest[pathStart..] : rest[pathStart..];
        }
        else if (!url.StartsWith('/'))
        {
            error = $"'{url}' must be a path (/api/users) or an absolute URL (http://host/api/users)";
            return false;
        }

        request.Host = new HostString(host);
        request.Headers.Host = host;
        foreach (var line in headerLines)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                error = $"header '{line}' must be written 'Name: value'";
                return false;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            request.Headers.Append(name, value);
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Host = new HostString(value);
                request.Headers.Host = value;
            }
        }

        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        request.QueryString = query < 0 ? QueryString.Empty : new QueryString(rawTarget[query..]);
        request.Path = query < 0 ? rawTarget : rawTarget[..query];
        context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget = rawTarget;
        context.Connection.RemoteIpAddress = IPAddress.Loopback;
        return true;
    }
}
