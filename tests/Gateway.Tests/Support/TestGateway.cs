using System.Net.Sockets;
using System.Text;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Logging;

namespace Gateway.Tests.Support;

/// <summary>The real gateway (Kestrel + pipeline + admin) started in-process on 127.0.0.1 with free ports.</summary>
public sealed class TestGateway : IAsyncDisposable
{
    private readonly GatewayHost _host;
    private readonly LogSink _sink;
    private readonly CapturingStream _output;

    private TestGateway(GatewayHost host, LogSink sink, CapturingStream output)
    {
        _host = host;
        _sink = sink;
        _output = output;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{host.Port}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
    }

    public HttpClient Client { get; }

    public HttpClient Admin { get; }

    public int Port => _host.Port;

    internal GatewayHost Host => _host;

    /// <summary>
    /// Starts a gateway on a YAML config; <c>server</c> and <c>admin</c> are set to loopback, port 0, when absent.
    /// <paramref name="http1FastPath"/> switches the HTTP/1.1 fast path on or off (null: the process default).
    /// </summary>
    public static async Task<TestGateway> StartAsync(string yaml, bool? http1FastPath = null) => await StartAsync(yaml, http1FastPath, null, null);

    /// <summary>Starts a gateway on the HTTP/1.1 codec named (<c>native</c> or <c>kestrel</c>), whichever pass of the suite runs.</summary>
    public static async Task<TestGateway> StartOnCodecAsync(string codec, string yaml) => await StartAsync(yaml, null, null, codec);

    /// <summary>
    /// Starts a gateway on a config file (it can be reloaded: SIGHUP-style through <see cref="GatewayHost.Reload"/>, the admin
    /// API, or the file watch when the config turns <c>hot_reload</c> on). The file is written as given.
    /// </summary>
    public static async Task<TestGateway> StartFromFileAsync(string path, bool? http1FastPath = null)
    {
        var loaded = ConfigLoader.LoadFile(path);
        if (loaded.HasErrors)
        {
            throw new InvalidOperationException("test config has errors:\n" + string.Join('\n', loaded.Problems));
        }

        var output = new CapturingStream();
        var sink = new LogSink(output);
        var host = await GatewayHost.StartAsync(loaded.Config!, sink, TimeProvider.System, new GatewayStartOptions { Http1FastPath = http1FastPath, ConfigPath = path });
        return new TestGateway(host, sink, output);
    }

    private static async Task<TestGateway> StartAsync(string yaml, bool? http1FastPath, string? configPath, string? codec)
    {
        var text = yaml.Contains("server:", StringComparison.Ordinal) ? yaml : "server:\n  host: 127.0.0.1\n  port: 0\n" + yaml;
        if (!text.Contains("admin:", StringComparison.Ordinal))
        {
            text += "\nadmin:\n  host: 127.0.0.1\n  port: 0\n";
        }

        var loaded = ConfigLoader.LoadText(text, "test.yaml", Directory.GetCurrentDirectory());
        if (loaded.HasErrors)
        {
            throw new InvalidOperationException("test config has errors:\n" + string.Join('\n', loaded.Problems));
        }

        var output = new CapturingStream();
        var sink = new LogSink(output);
        var host = await GatewayHost.StartAsync(loaded.Config!, sink, TimeProvider.System, new GatewayStartOptions { Http1FastPath = http1FastPath, ConfigPath = configPath, Http1Codec = codec });
        return new TestGateway(host, sink, output);
    }

    /// <summary>Everything logged so far (application lines and access log), waiting briefly for the writer.</summary>
    public async Task<string[]> LogLinesAsync(Func<string[], bool>? until = null)
    {
        for (var i = 0; i < 50; i++)
        {
            var lines = _output.Text().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (until is null ? lines.Length > 0 : until(lines))
            {
                return lines;
            }

            await Task.Delay(20);
        }

        return _output.Text().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Sends raw bytes on a new connection and returns everything the gateway answers until it closes (or 5 s pass).</summary>
    public async Task<string> SendRawAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[64 * 1024];
        var received = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                if (LooksComplete(received.ToString()))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }

        return received.ToString();
    }

    private static bool LooksComplete(string response)
    {
        var headEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0)
        {
            return false;
        }

        var head = response[..headEnd];
        var lengthAt = head.IndexOf("Content-Length: ", StringComparison.OrdinalIgnoreCase);
        if (lengthAt < 0)
        {
            return true;
        }

        var end = head.IndexOf('\r', lengthAt);
        var length = int.Parse(head[(lengthAt + 16)..(end < 0 ? head.Length : end)], System.Globalization.CultureInfo.InvariantCulture);
        return response.Length - headEnd - 4 >= length;
    }

    public async Task StopAsync() => await _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        if (!_host.Lifecycle.IsDraining)
        {
            await _host.StopAsync();
        }

        await _host.DisposeAsync();
        await _sink.DisposeAsync();
    }

    private sealed class CapturingStream : Stream
    {
        private readonly MemoryStream _inner = new();

        public string Text()
        {
            lock (_inner)
            {
                return Encoding.UTF8.GetString(_inner.ToArray());
            }
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (_inner)
            {
                _inner.Write(buffer, offset, count);
            }
        }
    }
}
