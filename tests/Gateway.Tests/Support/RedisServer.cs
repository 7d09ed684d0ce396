using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.Support;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, owned by one test. Missing redis-server skips the test
/// locally and fails it in CI (<c>CI=true</c>), where .ci/run installs it.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var binary = Find();
        if (binary is null)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                throw new InvalidOperationException("redis-server is not installed; .ci/run installs it");
            }

            Skip.If(true, "redis-server is not installed (CI installs it)");
        }

        var server = new RedisServer(RawBackend.ClosedPort());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A server on a port chosen beforehand (one a gateway was already told about).</summary>
    public static async Task<RedisServer> StartOnAsync(int port)
    {
        if (Find() is null)
        {
            Skip.If(Environment.GetEnvironmentVariable("CI") != "true", "redis-server is not installed (CI installs it)");
            throw new InvalidOperationException("redis-server is not installed; .ci/run installs it");
        }

        var server = new RedisServer(port);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts (or restarts) the server on the same port.</summary>
    public async Task StartAgainAsync()
    {
        _process = Process.Start(new ProcessStartInfo(Find()!)
        {
            ArgumentList = { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--enable-debug-command", "yes" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException("redis-server did not start");
    }

    /// <summary>Makes the server answer nothing for a while (<c>DEBUG SLEEP</c>, sent from a connection of its own); returns once it sleeps.</summary>
    public async Task<Task> SleepAsync(TimeSpan duration)
    {
        var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},syncTimeout=10000,asyncTimeout=10000");
        var sleeping = connection.GetDatabase().ExecuteAsync("DEBUG", "SLEEP", duration.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Task.Delay(20);
        return sleeping.ContinueWith(_ => connection.Dispose(), TaskScheduler.Default);
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    private static string? Find()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
