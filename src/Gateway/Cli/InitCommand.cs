using System.CommandLine;
using System.Reflection;
using Gateway.Configuration;

namespace Gateway.Cli;

/// <summary>
/// <c>gateway init</c>: writes the commented starter config (the same file as config/gateway.yaml) and, beside it, the
/// JSON Schema its first line names, so that an editor completes and checks keys in it without anything to download.
/// </summary>
internal static class InitCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out", "-o") { Description = "Where to write it.", DefaultValueFactory = _ => "gateway.yaml" };
        var command = new Command("init", $"Write a commented starter config that runs as is, and {SchemaCommand.FileName} beside it for editors. Never overwrites a file.") { output };
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

            WriteNew(path, StarterConfig());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return CliApp.UserFailure($"cannot write {path}: {e.Message}");
        }

        // The starter's modeline names the schema by a relative path. One already there is kept (it may be the user's,
        // or another version's: 'gateway schema' refreshes it); failing to write it costs completion, not the config.
        var schema = Path.Combine(Path.GetDirectoryName(path) ?? "", SchemaCommand.FileName);
        var wroteSchema = false;
        var schemaNote = $" (kept the {SchemaCommand.FileName} already there; 'gateway schema > {schema}' refreshes it)";
        if (!File.Exists(schema) && !Directory.Exists(schema))
        {
            try
            {
                WriteNew(schema, ConfigSchema.Text());
                wroteSchema = true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                schemaNote = $" (could not write {schema} for editors: {e.Message})";
            }
        }

        Console.Out.WriteLine(wroteSchema
            ? $"wrote {path} and {schema} (for editors); start it with: gateway run --config {path}"
            : $"wrote {path}{schemaNote}; start it with: gateway run --config {path}");
        return CliApp.Ok;
    }

    private static void WriteNew(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }
}
