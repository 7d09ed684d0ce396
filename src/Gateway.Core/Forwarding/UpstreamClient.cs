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
            // Connecting is timed here, so that a connect timeout reads as a connection error (nothing was sent:
            // safe to retry, answered 502) and never as the backend being slow to answer (504).
            ConnectCallback = (context, cancel) => ConnectAsync(context.DnsEndPoint, connectTimeout, cancel),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            MaxResponseHeadersLength = 64,
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public HttpMessageInvoker Invoker { get; }

    private static async ValueTask<Stream> ConnectAsync(System.Net.DnsEndPoint endpoint, TimeSpan timeout, CancellationToken cancel)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            socket.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"connecting to {endpoint.Host}:{endpoint.Port} timed out after {timeout.TotalSeconds:0.###} s",
                new TimeoutException());
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => Invoker.Dispose();
}
