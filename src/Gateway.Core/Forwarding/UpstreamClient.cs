using System.Diagnostics;
using System.Net;

namespace Gateway.Forwarding;

/// <summary>
/// The one connection pool to backends for the whole process (across config reloads), tuned for a proxy:
/// no redirects, cookies, proxy or decompression; trace headers are the gateway's own.
/// </summary>
internal sealed class UpstreamClient : IDisposable
{
    public UpstreamClient(TimeSpan connectTimeout)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = connectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            MaxResponseHeadersLength = 64,
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public HttpMessageInvoker Invoker { get; }

    public void Dispose() => Invoker.Dispose();
}
