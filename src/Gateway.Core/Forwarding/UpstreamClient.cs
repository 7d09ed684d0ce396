using System.Diagnostics;
using System.Net;

namespace Gateway.Forwarding;

/// <summary>
/// The connection pools to backends for the whole process (across config reloads): the gateway's own HTTP/1.1
/// client for plain-HTTP backends (the common case, and the fast one), and an HttpClient handler behind YARP for
/// everything else (TLS, HTTP/2, upgrades, bodies of unknown length), tuned for a proxy: no redirects, cookies,
/// proxy or decompression; trace headers are the gateway's own.
/// </summary>
internal sealed class UpstreamClient : IDisposable
{
    public UpstreamClient(TimeSpan connectTimeout, bool http1FastPath = true)
    {
        Http1 = http1FastPath ? new Http1.Http1Pool(connectTimeout) : null;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            // Connecting is timed here, so that a connect timeout reads as a connection error (nothing was sent:
            // safe to retry, answered 502) and never as the backend being slow to answer (504).
            ConnectCallback = (context, cancel) => ConnectAsync(context.DnsEndPoint, connectTimeout, cancel),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            MaxResponseHeadersLength = 64,
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            // Header values beyond ASCII go as the UTF-8 the client sent (Kestrel decodes them as UTF-8), as on the HTTP/1.1 path.
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public HttpMessageInvoker Invoker { get; }

    /// <summary>The HTTP/1.1 connection pool, or null when the fast path is switched off.</summary>
    public Http1.Http1Pool? Http1 { get; }

    private static async ValueTask<Stream> ConnectAsync(System.Net.DnsEndPoint endpoint, TimeSpan timeout, CancellationToken cancel) =>
        new System.Net.Sockets.NetworkStream(await ConnectSocketAsync(endpoint, timeout, cancel).ConfigureAwait(false), ownsSocket: true);

    /// <summary>
    /// Opens a TCP connection (Nagle off) within <paramref name="timeout"/>. Every failure but the caller's own
    /// cancellation is a connection error: nothing reached the backend.
    /// </summary>
    public static async ValueTask<System.Net.Sockets.Socket> ConnectSocketAsync(System.Net.DnsEndPoint endpoint, TimeSpan timeout, CancellationToken cancel)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
            return socket;
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            socket.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"connecting to {endpoint.Host}:{endpoint.Port} timed out after {timeout.TotalSeconds:0.###} s",
                new TimeoutException());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            socket.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"connecting to {endpoint.Host}:{endpoint.Port} failed", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Invoker.Dispose();
        Http1?.Dispose();
    }
}
