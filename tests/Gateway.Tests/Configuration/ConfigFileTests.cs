using System.Diagnostics;
using System.Text;
using Gateway.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>
/// The config file and the files it names are read only when they are regular files (symlinks followed), and
/// never past a cap: a device never ends, a FIFO blocks on open, and neither has a length to check first.
/// </summary>
public sealed class ConfigFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gw-files-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string OnlyError(ConfigLoadResult result) => Assert.Single(result.Errors).ToString();

    /// <summary>Runs a load with a deadline, so a regression that opens a FIFO fails instead of hanging the run.</summary>
    private static ConfigLoadResult WithinSeconds(Func<ConfigLoadResult> load, int seconds = 10)
    {
        var task = Task.Run(load);
        Assert.True(task.Wait(TimeSpan.FromSeconds(seconds)), "the load blocked");
        return task.Result;
    }

    private string MakeFifo(string name)
    {
        var path = Path.Combine(_directory, name);
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Skip.If(mkfifo.ExitCode != 0, "mkfifo is not available");
        return path;
    }

    [SkippableFact]
    public void A_character_device_is_refused_without_reading_it()
    {
        Skip.IfNot(File.Exists("/dev/zero"), "no /dev/zero here");
        var result = WithinSeconds(() => ConfigLoader.LoadFile("/dev/zero"));
        Assert.Equal("/dev/zero: is not a regular file (a character device)", OnlyError(result));
    }

    [SkippableFact]
    public void A_symlink_is_followed_to_what_it_names()
    {
        Skip.IfNot(File.Exists("/dev/zero"), "no /dev/zero here");
        var link = Path.Combine(_directory, "gateway.yaml");
        File.CreateSymbolicLink(link, "/dev/zero");
        var chained = Path.Combine(_directory, "chained.yaml");
        File.CreateSymbolicLink(chained, link);
        Assert.Equal($"{link}: is not a regular file (a character device)", OnlyError(WithinSeconds(() => ConfigLoader.LoadFile(link))));
        Assert.Equal($"{chained}: is not a regular file (a character device)", OnlyError(WithinSeconds(() => ConfigLoader.LoadFile(chained))));

        // A link to a regular file is read as that file.
        var real = Write("real.yaml", "routes:\n  - {path: /a, backend: \"http://127.0.0.1:1\"}\n");
        var good = Path.Combine(_directory, "good.yaml");
        File.CreateSymbolicLink(good, real);
        Assert.False(ConfigLoader.LoadFile(good).HasErrors);
    }

    [SkippableFact]
    public void A_fifo_is_refused_without_opening_it()
    {
        Skip.If(OperatingSystem.IsWindows(), "no FIFOs");
        var fifo = MakeFifo("gateway.yaml");
        var load = Task.Run(() => ConfigLoader.LoadFile(fifo));
        if (!load.Wait(TimeSpan.FromSeconds(10)))
        {
            // The load opened the FIFO and waits for a writer: give it one so its thread ends, then fail.
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
            {
            }

            Assert.Fail("the load opened the FIFO and blocked");
        }

        Assert.Equal($"{fifo}: is not a regular file (a FIFO (named pipe))", OnlyError(load.Result));
    }

    [Fact]
    public void A_directory_is_refused()
    {
        Assert.Equal($"{_directory}: is a directory, not a config file", OnlyError(ConfigLoader.LoadFile(_directory)));
    }

    [Fact]
    public void A_file_over_the_cap_is_refused()
    {
        var path = Path.Combine(_directory, "big.yaml");
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            stream.SetLength(ConfigLoader.MaxFileBytes + 1);
        }

        Assert.Equal($"{path}: file is larger than 16 MiB", OnlyError(ConfigLoader.LoadFile(path)));

        var atCap = Path.Combine(_directory, "at-cap.yaml");
        File.WriteAllText(atCap, "routes: []\n#" + new string('x', ConfigLoader.MaxFileBytes - 13) + "\n");
        Assert.False(ConfigLoader.LoadFile(atCap).HasErrors);
    }

    [Fact]
    public void Invalid_utf8_is_located_and_other_unicode_encodings_load()
    {
        var bad = Path.Combine(_directory, "bad.yaml");
        File.WriteAllBytes(bad, [.. Encoding.UTF8.GetBytes("routes:\n  - path: /é"), 0xFF, .. Encoding.UTF8.GetBytes("\n")]);
        Assert.Equal($"{bad}:2:13: the file is not valid UTF-8 (byte 0xFF); save it as UTF-8", OnlyError(ConfigLoader.LoadFile(bad)));

        const string yaml = "routes:\n  - {path: /a, backend: \"http://127.0.0.1:1\", description: \"é\"}\n";
        foreach (var encoding in new Encoding[] { new UTF8Encoding(true), new UnicodeEncoding(false, true), new UnicodeEncoding(true, true), new UTF32Encoding(false, true) })
        {
            var path = Path.Combine(_directory, $"enc-{encoding.WebName}.yaml");
            File.WriteAllText(path, yaml, encoding);
            var loaded = ConfigLoader.LoadFile(path);
            Assert.False(loaded.HasErrors, encoding.WebName + ": " + string.Join('\n', loaded.Problems));
            Assert.Equal("é", loaded.Config!.Routes[0].Description);
        }
    }

    private ConfigLoadResult LoadReferencing(string reference) =>
        ConfigLoader.LoadText($"routes:\n  - {{path: /a, backend: \"http://127.0.0.1:1\", description: \"{reference}\"}}\n", "gw.yaml", _directory, _ => null);

    [SkippableFact]
    public void File_references_are_regular_files_only()
    {
        Skip.IfNot(File.Exists("/dev/zero"), "no /dev/zero here");
        var zero = OnlyError(WithinSeconds(() => LoadReferencing("${file:/dev/zero}")));
        Assert.StartsWith("gw.yaml:2:", zero, StringComparison.Ordinal);
        Assert.EndsWith(": routes[0].description: '${file:/dev/zero}' is not a regular file (a character device)", zero, StringComparison.Ordinal);

        File.CreateSymbolicLink(Path.Combine(_directory, "zero"), "/dev/zero");
        Assert.Contains("'${file:zero}' is not a regular file (a character device)", OnlyError(WithinSeconds(() => LoadReferencing("${file:zero}"))), StringComparison.Ordinal);

        Assert.Contains("'${file:.}' is a directory", OnlyError(LoadReferencing("${file:.}")), StringComparison.Ordinal);

        if (!OperatingSystem.IsWindows())
        {
            MakeFifo("pipe");
            Assert.Contains("'${file:pipe}' is not a regular file (a FIFO (named pipe))", OnlyError(WithinSeconds(() => LoadReferencing("${file:pipe}"))), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void File_references_are_capped_one_by_one_and_in_total()
    {
        var big = Path.Combine(_directory, "big.txt");
        File.WriteAllText(big, new string('s', Interpolation.MaxFileBytes + 1));
        Assert.Contains("'${file:big.txt}' is larger than 1024 KiB", OnlyError(LoadReferencing("${file:big.txt}")), StringComparison.Ordinal);

        // Seventeen distinct values each inserting a 1 MiB file pass the 16 MiB that references may insert in all.
        File.WriteAllText(Path.Combine(_directory, "mib.txt"), new string('m', Interpolation.MaxFileBytes));
        var yaml = new StringBuilder("routes:\n");
        for (var i = 0; i < 17; i++)
        {
            yaml.Append($"  - {{path: /r{i}, backend: \"http://127.0.0.1:1\", description: \"{i}${{file:mib.txt}}\"}}\n");
        }

        var result = ConfigLoader.LoadText(yaml.ToString(), "gw.yaml", _directory, _ => null);
        var error = Assert.Single(result.Errors);
        Assert.Equal("routes[16].description", error.Path);
        Assert.Contains("references insert more than 16 MiB", error.Message, StringComparison.Ordinal);

        // The same value repeated, by aliases or by hand, is expanded (and the file read) once.
        var repeated = new StringBuilder("x: &d \"${file:mib.txt}\"\nroutes:\n");
        for (var i = 0; i < 40; i++)
        {
            repeated.Append($"  - {{path: /r{i}, backend: \"http://127.0.0.1:1\", description: {(i % 2 == 0 ? "*d" : "\"${file:mib.txt}\"")}}}\n");
        }

        var shared = ConfigLoader.LoadText(repeated.ToString(), "gw.yaml", _directory, _ => null);
        Assert.Equal("x", Assert.Single(shared.Errors).Path);
        Assert.Same(shared.Config!.Routes[0].Description, shared.Config.Routes[1].Description);
    }
}
