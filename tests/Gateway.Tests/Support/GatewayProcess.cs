using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Support;

/// <summary>The built <c>gateway</c> run as a real process, the way users run it.</summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private GatewayProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static GatewayProcess Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Paths.GatewayDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return new GatewayProcess(Process.Start(info)!);
    }

    /// <summary>Runs a verb to completion and returns its exit code and output.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string workingDirectory, params string[] args)
    {
        await using var process = Start(workingDirectory, args);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, process.Stdout, process.Stderr);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits for the <c>listening on http://HOST:PORT</c> line and returns the port.</summary>
    public async Task<int> WaitForListeningAsync(string prefix = "listening on")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var pattern = new Regex("\"msg\":\"" + Regex.Escape(prefix) + " http://[^\"]*:(\\d+)\"");
        while (DateTime.UtcNow < deadline)
        {
            var match = pattern.Match(Stdout);
            if (match.Success)
            {
                return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"gateway exited with {_process.ExitCode}:\n{Stdout}\n{Stderr}");
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"gateway did not report '{prefix}':\n{Stdout}\n{Stderr}");
    }

    /// <summary>Waits for the <c>admin listening on http://HOST:PORT</c> line and returns the admin port.</summary>
    public Task<int> WaitForAdminListeningAsync() => WaitForListeningAsync("admin listening on");

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
