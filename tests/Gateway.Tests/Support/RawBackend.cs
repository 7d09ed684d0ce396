using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Tests.Support;

/// <summary>A misbehaving backend on a raw socket: hangs, resets mid-body, or answers garbage.</summary>
public sealed class RawBackend : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _open = [];

    private RawBackend(Func<Socket, Task> behaviour)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _ = AcceptLoopAsync(behaviour);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Url => $"http://127.0.0.1:{Port}";

    public int Connections { get; private set; }

    /// <summary>A backend that runs <paramref name="behaviour"/> on every connection it accepts.</summary>
    public static RawBackend Custom(Func<Socket, Task> behaviour) => new(behaviour);

    /// <summary>Accepts, reads the request, never answers.</summary>
    public static RawBackend Hang() => new(async socket =>
    {
        await ReadHeadAsync(socket);
        await Task.Delay(Timeout.Infinite);
    });

    /// <summary>Answers a status line that is not HTTP.</summary>
    public static RawBackend Garbage() => new(async socket =>
    {
        await ReadHeadAsync(socket);
        await socket.SendAsync(Encoding.ASCII.GetBytes("HELLO THERE\r\nthis is not http\r\n\r\n"));
        socket.Close();
    });

    /// <summary>An HTTP/1.1-only server: answers anything, the HTTP/2 preface included, with 400 and closes.</summary>
    public static RawBackend Http1Only() => new(async socket =>
    {
        await ReadHeadAsync(socket);
        await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        socket.Close();
    });

    /// <summary>Announces a 100 000-byte body, sends a little of it, then resets the connection.</summary>
    public static RawBackend ResetMidBody() => new(async socket =>
    {
        await ReadHeadAsync(socket);
        await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n" + new string('x', 1000)));
        await Task.Delay(100);
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    });

    /// <summary>Resets the connection as soon as the request head arrives, before any response.</summary>
    public static RawBackend ResetBeforeResponse() => new(async socket =>
    {
        await ReadHeadAsync(socket);
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    });

    /// <summary>
    /// An address whose connections never complete: a listener that never accepts, its queue filled, so the
    /// kernel drops further handshakes (like a firewall that drops packets).
    /// </summary>
    public static (Socket Listener, List<Socket> Fillers, string Url) Blackhole()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<Socket>();
        for (var i = 0; i < 8; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            try
            {
                filler.Connect(endpoint);
            }
            catch (SocketException)
            {
            }

            fillers.Add(filler);
        }

        return (listener, fillers, $"http://127.0.0.1:{endpoint.Port}");
    }

    private static readonly List<Socket> Reserved = [];

    /// <summary>
    /// A port that refuses connections for the rest of the test run: a socket is bound to it
    /// and never listens, so no other test's server can be given the same port meanwhile.
    /// </summary>
    public static int RefusedPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        lock (Reserved)
        {
            Reserved.Add(socket);
        }

        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>A port free right now, for a server the test starts on it later.</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task AcceptLoopAsync(Func<Socket, Task> behaviour)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Connections++;
                lock (_open)
                {
                    _open.Add(socket);
                }

                _ = Task.Run(async () =>
                {
                    try
                    {
                        await behaviour(socket);
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
                    {
                    }
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal static async Task ReadHeadAsync(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var received = new StringBuilder();
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer);
            if (read == 0)
            {
                return;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_open)
        {
            foreach (var socket in _open)
            {
                socket.Dispose();
            }
        }
    }
}
