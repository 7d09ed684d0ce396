using System.IO.Pipelines;
using System.Net;
using Gateway.Configuration;
using Gateway.Forwarding;
using Microsoft.AspNetCore.Http;

namespace Gateway.Pipeline;

/// <summary>
/// The codec side of an exchange decided offline (explain, route tests): no body, no network; what the stages answer
/// is kept here to be read back.
/// </summary>
internal sealed class OfflineChannel : IClientChannel
{
    public PipeReader RequestBody { get; } = PipeReader.Create(Stream.Null);

    public CancellationToken Aborted => CancellationToken.None;

    public HttpContext? HttpContext => null;

    public int Status { get; set; } = StatusCodes.Status200OK;

    public IHeaderDictionary ResponseHeaders { get; } = new HeaderDictionary();

    public long? ResponseContentLength { get; set; }

    public bool ResponseStarted => false;

    public PipeWriter ResponseBody { get; } = PipeWriter.Create(Stream.Null);

    public Stream ResponseStream { get; set; } = Stream.Null;

    public void LimitRequestBody(long max)
    {
    }

    public Task StartResponseAsync(CancellationToken cancel) => Task.CompletedTask;

    public void ClearResponse()
    {
        Status = StatusCodes.Status200OK;
        ResponseHeaders.Clear();
        ResponseContentLength = null;
    }

    public void Abort()
    {
    }

    /// <summary>
    /// An exchange for a request described on the command line or in a route test: <paramref name="url"/> is a path
    /// (<c>/api/users?x=1</c>) or an absolute URL, headers are <c>Name: value</c> lines. Headers are given to the stages
    /// as Kestrel would give them (it keeps only the connection option of a Connection header that has one).
    /// </summary>
    public static bool TryCreate(RuntimeConfig config, string method, string url, IEnumerable<string> headerLines, IPAddress peer,
        out Exchange exchange, out string? error)
    {
        exchange = null!;
        error = null;
        var scheme = "http";
        var host = "localhost";
        var rawTarget = url;
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd > 0)
        {
            scheme = url[..schemeEnd].ToLowerInvariant();
            var rest = url[(schemeEnd + 3)..];
            var pathStart = rest.IndexOfAny(['/', '?']);
            host = pathStart < 0 ? rest : rest[..pathStart];
            rawTarget = pathStart < 0 ? "/" : rest[pathStart] == '?' ? "/" + rest[pathStart..] : rest[pathStart..];
        }
        else if (!url.StartsWith('/'))
        {
            error = $"'{url}' must be a path (/api/users) or an absolute URL (http://host/api/users)";
            return false;
        }

        IHeaderDictionary headers = new HeaderDictionary { ["Host"] = host };
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
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                headers.Host = value;
                continue;
            }

            headers.Append(name, value);
        }

        if (headers.Connection.Count > 0)
        {
            headers.Connection = HopByHop.AsServerSees(headers.Connection);
        }

        long? length = headers.ContentLength;
        exchange = new Exchange(new OfflineChannel(), config, TimeProvider.System,
            HttpMethods.GetCanonicalizedValue(method), rawTarget, headers)
        {
            Scheme = scheme,
            Peer = Forwarding.ClientAddress.Normalize(peer),
            RequestContentLength = length,
            RequestBodyUnframed = length is null && headers.TransferEncoding.Count > 0,
            Offline = true,
        };
        return true;
    }

    /// <summary>Runs an offline exchange through the stages (nothing is sent, nothing counted).</summary>
    public static Task RunAsync(Exchange exchange) => Runner.RunAsync(exchange).AsTask();

    private static readonly StageRunner Runner = new(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
}
