using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Forwarding.Http1;

/// <summary>One keep-alive connection to a backend, with its buffered reader and writer.</summary>
internal sealed class Http1Connection : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    public Http1Connection(Socket socket, TimeProvider time)
    {
        Cancellation = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        Writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 4 * 1024, leaveOpen: true));
    }

    public PipeReader Reader { get; }

    public PipeWriter Writer { get; }

    /// <summary>The sender's per-connection request state, made once and used for every request on the connection.</summary>
    public object? Run { get; set; }

    /// <summary>The header values of this connection's last response, handed out again when they repeat.</summary>
    public Gateway.Http1.HeaderValueCache Values { get; } = new();

    /// <summary>Cancels the current exchange: the route's timeout, or the client going away. Reset between requests.</summary>
    public CancellationTokenSource Cancellation { get; }

    /// <summary>When the connection went back to the pool (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long IdleSince { get; set; }

    /// <summary>
    /// False when the backend has closed the connection (or sent something unasked) while it sat idle: one
    /// non-blocking poll before every reuse, so stray bytes are never read as the next request's response.
    /// </summary>
    public bool LooksAlive()
    {
        try
        {
            return !_socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Gets the connection ready for its next request; false when it cannot be (its exchange was cancelled).</summary>
    public bool TryReset() => Cancellation.TryReset();

    public void Dispose()
    {
        // The socket goes first, and the writer completes with an error so that it never tries to send what a failed
        // exchange left buffered (that write could block on a backend that stopped reading, or throw).
        try
        {
            _stream.Dispose();
            Writer.Complete(new ObjectDisposedException(nameof(Http1Connection)));
            Reader.Complete();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Closing a broken connection has nothing left to report.
        }

        Cancellation.Dispose();
    }
}

/// <summary>The idle connections to one host and port: last in, first out, so that spare ones age out.</summary>
internal sealed class Http1Endpoint(string host, int port, TimeProvider time)
{
    /// <summary>More idle connections than this to one backend are closed rather than kept.</summary>
    public const int MaxIdle = 1024;

    private readonly Lock _lock = new();
    private readonly Stack<Http1Connection> _idle = new();
    private bool _closed;

    public string Host { get; } = host;

    public int Port { get; } = port;

    public Http1Connection? Rent()
    {
        while (true)
        {
            Http1Connection? connection;
            lock (_lock)
            {
                if (!_idle.TryPop(out connection))
                {
                    return null;
                }
            }

            if (connection.LooksAlive())
            {
                return connection;
            }

            connection.Dispose();
        }
    }

    public void Return(Http1Connection connection)
    {
        connection.IdleSince = time.GetTimestamp();
        lock (_lock)
        {
            if (_idle.Count < MaxIdle && !_closed)
            {
                _idle.Push(connection);
                return;
            }
        }

        connection.Dispose();
    }

    /// <summary>Closes the connections idle for longer than <paramref name="idleTimeout"/> (all of them for a negative one).</summary>
    public void CloseIdle(TimeSpan idleTimeout)
    {
        List<Http1Connection>? expired = null;
        lock (_lock)
        {
            if (_idle.Count == 0)
            {
                return;
            }

            // The stack's bottom holds the longest idle; rebuild it without the expired ones.
            var keep = new List<Http1Connection>(_idle.Count);
            foreach (var connection in _idle)
            {
                if (idleTimeout < TimeSpan.Zero || time.GetElapsedTime(connection.IdleSince) > idleTimeout)
                {
                    (expired ??= []).Add(connection);
                }
                else
                {
                    keep.Add(connection);
                }
            }

            if (expired is null)
            {
                return;
            }

            _idle.Clear();
            for (var i = keep.Count - 1; i >= 0; i--)
            {
                _idle.Push(keep[i]);
            }
        }

        foreach (var connection in expired)
        {
            connection.Dispose();
        }
    }

    /// <summary>Closes every idle connection; connections handed back later are closed too (shutdown).</summary>
    public void CloseAll()
    {
        lock (_lock)
        {
            _closed = true;
        }

        CloseIdle(TimeSpan.FromTicks(-1));
    }
}

/// <summary>
/// Keep-alive HTTP/1.1 connections to cleartext backends, for the whole process (across config reloads), keyed by
/// host and port. Idle connections close after a minute; each is checked before reuse. An endpoint no live config
/// names any more is closed once that config is live (connections in use close when their request ends).
/// </summary>
internal sealed class Http1Pool : IDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    private readonly TimeSpan _connectTimeout;
    private readonly TimeProvider _time;
    private readonly ITimer _scavenger;

    public Http1Pool(TimeSpan connectTimeout, TimeProvider time)
    {
        _connectTimeout = connectTimeout;
        _time = time;
        Endpoints = new State.Registry<(string Host, int Port), Http1Endpoint>(static endpoint => endpoint.CloseAll());
        _scavenger = time.CreateTimer(static state => ((Http1Pool)state!).CloseIdle(), this, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
    }

    /// <summary>The endpoints by host and port (live state: a reload keeps the ones it still names).</summary>
    public State.Registry<(string Host, int Port), Http1Endpoint> Endpoints { get; }

    public Http1Endpoint For(Uri url) => Endpoints.GetOrAdd((url.IdnHost.Trim('[', ']'), url.Port), key => new Http1Endpoint(key.Host, key.Port, _time));

    /// <summary>Opens a new connection; failures (refused, unresolvable, timed out) throw a connection error.</summary>
    public async ValueTask<Http1Connection> ConnectAsync(Http1Endpoint endpoint, CancellationToken cancel)
    {
        var socket = await UpstreamClient.ConnectSocketAsync(new DnsEndPoint(endpoint.Host, endpoint.Port), _connectTimeout, _time, cancel).ConfigureAwait(false);
        return new Http1Connection(socket, _time);
    }

    private void CloseIdle()
    {
        foreach (var endpoint in Endpoints.Values)
        {
            endpoint.CloseIdle(IdleTimeout);
        }
    }

    public void Dispose()
    {
        _scavenger.Dispose();
        Endpoints.RetireAll();
    }
}
