using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding;

/// <summary>
/// The ways to backends for the whole process (across config reloads): the gateway's own HTTP/1.1 client with its
/// keep-alive pool for plain-HTTP backends (the common case, and the fast one), and HttpClient behind YARP for
/// everything else (TLS, HTTP/2, upgrades, bodies of unknown length), tuned for a proxy: no redirects, cookies,
/// proxy or decompression; trace headers are the gateway's own.
/// </summary>
internal sealed class UpstreamClient : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeProvider _time;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (UpstreamSender Yarp, UpstreamSender Direct, HttpMessageInvoker Invoker)> _tls = new(StringComparer.Ordinal);

    public UpstreamClient(TimeSpan connectTimeout, TimeProvider time, bool http1FastPath = true)
    {
        _connectTimeout = connectTimeout;
        _time = time;
        Http1 = http1FastPath ? new Http1.Http1Pool(connectTimeout, time) : null;
        Http1Sender = Http1 is null ? null : new Http1.Http1Sender(Http1);
        Invoker = new HttpMessageInvoker(CreateHandler(connectTimeout, time), disposeHandler: true);
        _services = new ServiceCollection().AddLogging().AddHttpForwarder().BuildServiceProvider();
        Yarp = new YarpSender(_services.GetRequiredService<IHttpForwarder>(), Invoker);
        Direct = new HttpClientSender(Invoker, time);
    }

    /// <summary>
    /// The HttpClient senders for backends reached with a route's own <c>tls_upstream</c> settings: one connection pool
    /// per distinct setting for the process (a reload that keeps the setting keeps the pool and its connections).
    /// </summary>
    public (UpstreamSender Yarp, UpstreamSender Direct) ForTls(Tls.UpstreamTls tls)
    {
        var senders = _tls.GetOrAdd(tls.Key, static (_, state) =>
        {
            var (client, tls) = state;
            var handler = CreateHandler(client._connectTimeout, client._time);
            handler.SslOptions = tls.ClientOptions();
            var invoker = new HttpMessageInvoker(handler, disposeHandler: true);
            return (new YarpSender(client._services.GetRequiredService<IHttpForwarder>(), invoker), new HttpClientSender(invoker, client._time), invoker);
        }, (this, tls));
        return (senders.Yarp, senders.Direct);
    }

    private static SocketsHttpHandler CreateHandler(TimeSpan connectTimeout, TimeProvider time) => new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            // Connecting is timed here, so that a connect timeout reads as a connection error (nothing was sent:
            // safe to retry, answered 502) and never as the backend being slow to answer (504).
            ConnectCallback = (context, cancel) => ConnectAsync(context.DnsEndPoint, connectTimeout, time, cancel),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            MaxResponseHeadersLength = 64,
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            // Header values beyond ASCII go as the UTF-8 the client sent (Kestrel decodes them as UTF-8), as on the HTTP/1.1 path.
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
        };

    public HttpMessageInvoker Invoker { get; }

    /// <summary>The HTTP/1.1 connection pool, or null when the own client is switched off.</summary>
    public Http1.Http1Pool? Http1 { get; }

    /// <summary>The own HTTP/1.1 client, or null when it is switched off.</summary>
    public UpstreamSender? Http1Sender { get; }

    /// <summary>HttpClient through YARP's forwarder (for exchanges Kestrel's HTTP layer carried).</summary>
    public UpstreamSender Yarp { get; }

    /// <summary>HttpClient without YARP (for exchanges of the gateway's own codec).</summary>
    public UpstreamSender Direct { get; }

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, TimeSpan timeout, TimeProvider time, CancellationToken cancel) =>
        new System.Net.Sockets.NetworkStream(await ConnectSocketAsync(endpoint, timeout, time, cancel).ConfigureAwait(false), ownsSocket: true);

    /// <summary>
    /// Opens a TCP connection (Nagle off) within <paramref name="timeout"/>. Every failure but the caller's own
    /// cancellation is a connection error: nothing reached the backend.
    /// </summary>
    public static async ValueTask<System.Net.Sockets.Socket> ConnectSocketAsync(DnsEndPoint endpoint, TimeSpan timeout, TimeProvider time, CancellationToken cancel)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, deadline.Token);
        try
        {
            await socket.ConnectAsync(endpoint, linked.Token).ConfigureAwait(false);
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
        foreach (var senders in _tls.Values)
        {
            senders.Invoker.Dispose();
        }

        Http1?.Dispose();
        _services.Dispose();
    }
}
