using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Gateway.Tests.Support;

/// <summary>
/// Debian's Prometheus tools (<c>promtool</c>, <c>prometheus</c>). Missing, they skip the test locally and fail it in
/// CI (<c>CI=true</c>), where .ci/run installs them.
/// </summary>
public static class PrometheusTools
{
    /// <summary>The path of a tool, or a skip (a failure in CI) when it is not installed.</summary>
    public static string Require(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            var path = Path.Combine(dir, tool);
            if (File.Exists(path))
            {
                return path;
            }
        }

        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new InvalidOperationException($"{tool} is not installed; .ci/run installs it (Debian package prometheus)");
        }

        Skip.If(true, $"{tool} is not installed (CI installs the Debian package prometheus)");
        return "";
    }

    /// <summary>Runs a tool to its end; returns its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, IEnumerable<string> arguments, string? input = null)
    {
        var start = new ProcessStartInfo(Require(tool))
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>A real <c>prometheus</c> server on a free loopback port, with its storage in a temporary folder, scraping one target.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public HttpClient Client { get; }

    /// <summary>Starts Prometheus scraping <c>http://127.0.0.1:{targetPort}{path}</c> every second.</summary>
    public static async Task<PrometheusServer> StartAsync(int targetPort, string path)
    {
        var binary = PrometheusTools.Require("prometheus");
        var directory = Directory.CreateTempSubdirectory("gateway-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: gateway
                metrics_path: {path}
                static_configs:
                  - targets: ['127.0.0.1:{targetPort.ToString(CultureInfo.InvariantCulture)}']
            """);
        var port = RawBackend.ClosedPort();
        var start = new ProcessStartInfo(binary)
        {
            ArgumentList =
            {
                "--config.file=" + config,
                "--storage.tsdb.path=" + Path.Combine(directory, "data"),
                "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                "--web.console.templates=" + directory,
                "--web.console.libraries=" + directory,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, directory, port);
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var ready = await server.Client.GetAsync("/-/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (process.HasExited)
            {
                break;
            }

            await Task.Delay(100);
        }

        await server.DisposeAsync();
        throw new InvalidOperationException("prometheus did not become ready");
    }

    /// <summary>The result vector of an instant query, as JSON elements (each with <c>metric</c> and <c>value</c>).</summary>
    public async Task<JsonElement[]> QueryAsync(string query)
    {
        var text = await Client.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
        using var document = JsonDocument.Parse(text);
        return [.. document.RootElement.GetProperty("data").GetProperty("result").EnumerateArray().Select(static e => e.Clone())];
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
