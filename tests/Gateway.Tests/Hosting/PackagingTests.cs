using System.Diagnostics;

namespace Gateway.Tests.Hosting;

/// <summary>The self-contained build and the systemd unit, as an operator installs them.</summary>
public sealed class PackagingTests : IDisposable
{
    private readonly string _dist = Directory.CreateTempSubdirectory("gateway-dist-").FullName;

    public void Dispose() => Directory.Delete(_dist, recursive: true);

    [Fact]
    public async Task The_single_file_build_runs_without_a_dotnet_install_and_carries_no_satellite_folders()
    {
        var (code, output) = await RunAsync(Path.Combine(Paths.Repository, "scripts", "publish.sh"), ["linux-x64"], Paths.Repository, new() { ["DIST"] = _dist });
        Assert.True(code == 0, output);

        var folder = Path.Combine(_dist, "linux-x64");
        Assert.Equal(["gateway", "gateway.schema.json", "gateway.yaml"], Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // No dotnet on the PATH and no DOTNET_ROOT: the executable carries its runtime.
        var bare = new Dictionary<string, string?> { ["PATH"] = "/usr/bin:/bin", ["DOTNET_ROOT"] = null, ["HOME"] = _dist };
        var gateway = Path.Combine(folder, "gateway");
        var (versionCode, version) = await RunAsync(gateway, ["--version"], folder, bare);
        Assert.Equal(0, versionCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version);

        var (validateCode, validated) = await RunAsync(gateway, ["validate", "gateway.yaml"], folder, bare);
        Assert.True(validateCode == 0, validated);
        Assert.Contains("gateway.yaml: ok", validated, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_systemd_unit_verifies()
    {
        var analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        Assert.False(analyze is null && Environment.GetEnvironmentVariable("CI") == "true", "systemd-analyze is missing (CI installs systemd)");
        Skip.If(analyze is null, "systemd-analyze is not installed");

        // The unit as installed, with the binary where this test can point it: any directive systemd does not know,
        // a bad value or a missing executable fails the check.
        var binary = Path.Combine(_dist, "gateway");
        File.Copy("/bin/true", binary);
        var unit = File.ReadAllText(Path.Combine(Paths.Repository, "deploy", "systemd", "gateway.service")).Replace("/usr/local/bin/gateway", binary, StringComparison.Ordinal);
        var path = Path.Combine(_dist, "gateway.service");
        File.WriteAllText(path, unit);
        var (code, output) = await RunAsync(analyze!, ["verify", path], _dist, []);
        Assert.True(code == 0 && output.Trim().Length == 0, output);
        Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID", unit, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string directory, Dictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
