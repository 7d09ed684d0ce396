using System.CommandLine;
using System.Reflection;

namespace Gateway.Cli;

/// <summary><c>gateway init</c>: writes the commented starter config (the same file as config/gateway.yaml).</summary>
internal static class InitCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out", "-o") { Description = "Where to write it.", DefaultValueFactory = _ => "gateway.yaml" };
        var command = new Command("init", "Write a commented starter config that runs as is. Never overwrites a file.") { output };
        command.SetAction(parse => Init(parse.GetValue(output)!));
        return command;
    }

    public static string StarterConfig()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("starter.yaml")
            ?? throw new InvalidOperationException("the starter config is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static int Init(string path)
    {
        if (File.Exists(path) || Directory.Exists(path))
        {
            return CliApp.UserFailure($"{path} already exists; not overwriting it (choose another path with --out)");
        }

        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            using var writer = new StreamWriter(stream);
            writer.Write(StarterConfig());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return CliApp.UserFailure($"cannot write {path}: {e.Message}");
        }

        Console.Out.WriteLine($"wrote {path}; start it with: gateway run --config {path}");
        return CliApp.Ok;
    }
}
