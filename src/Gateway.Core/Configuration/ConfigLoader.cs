using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Configuration;

/// <summary>What loading a configuration produced: the records (when they could be built) and every problem.</summary>
internal sealed record ConfigLoadResult(GatewayConfig? Config, IReadOnlyList<ConfigProblem> Problems, string File, string BaseDirectory)
{
    public bool HasErrors => Config is null || Problems.Any(p => p.IsError);

    public IEnumerable<ConfigProblem> Errors => Problems.Where(p => p.IsError);

    public IEnumerable<ConfigProblem> Warnings => Problems.Where(p => !p.IsError);
}

/// <summary>Reads a YAML file, expands references, binds and validates it.</summary>
internal static class ConfigLoader
{
    /// <summary>Upper bound on a configuration file; anything larger is certainly a mistake.</summary>
    private const long MaxFileBytes = 16 * 1024 * 1024;

    public static ConfigLoadResult LoadFile(string path, Func<string, string?>? environment = null)
    {
        var display = path;
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return Failed(display, Directory.Exists(path) ? "is a directory, not a config file" : "file not found");
            }

            if (info.Length > MaxFileBytes)
            {
                return Failed(display, $"file is larger than {MaxFileBytes / (1024 * 1024)} MiB");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failed(display, "cannot read file: " + e.Message);
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return LoadText(text, display, baseDirectory, environment);
    }

    public static ConfigLoadResult LoadText(string text, string file, string baseDirectory, Func<string, string?>? environment = null)
    {
        var (config, diagnostics) = Bind<GatewayConfig>(text, file, baseDirectory, environment);
        if (config is null)
        {
            if (!diagnostics.HasErrors)
            {
                diagnostics.ErrorAt(1, 1, "", "the file is empty; a config needs at least 'routes'");
            }

            return new ConfigLoadResult(null, diagnostics.Problems, file, baseDirectory);
        }

        ConfigValidator.Validate(config, diagnostics, baseDirectory);
        return new ConfigLoadResult(config, diagnostics.Problems, file, baseDirectory);
    }

    /// <summary>Parses one YAML document and binds it to <typeparamref name="T"/>, collecting problems with locations.</summary>
    public static (T? Value, ConfigDiagnostics Diagnostics) Bind<T>(string text, string file, string baseDirectory, Func<string, string?>? environment = null)
        where T : class
    {
        environment ??= Environment.GetEnvironmentVariable;
        var diagnostics = new ConfigDiagnostics(file, new SourceMap());
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            // Scanner errors carry the start of the scan; the end is where the problem was found.
            var mark = e.End.Line > e.Start.Line ? e.End : e.Start;
            var (line, column) = ((int)mark.Line, (int)mark.Column);
            var located = System.Text.RegularExpressions.Regex.Matches(e.Message + " " + e.InnerException?.Message, @"Line: (\d+), Col: (\d+)");
            foreach (System.Text.RegularExpressions.Match m in located)
            {
                var l = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (l > line)
                {
                    (line, column) = (l, int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            if (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstTabIndent(text) is { } tabLine)
            {
                (line, column) = (tabLine, 1);
            }

            diagnostics.ErrorAt(Math.Max(line, 1), Math.Max(column, 1), "", "invalid YAML: " + CleanYamlMessage(e.InnerException?.Message ?? e.Message));
            return (null, diagnostics);
        }

        if (stream.Documents.Count == 0)
        {
            return (null, diagnostics);
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            diagnostics.ErrorAt((int)second.Line, (int)second.Column, "", "the file holds more than one YAML document; only one is allowed");
        }

        var binder = new YamlBinder(diagnostics, new Interpolation(environment, baseDirectory));
        return (binder.BindRoot<T>(stream.Documents[0].RootNode), diagnostics);
    }

    /// <summary>The first line indented with a tab (YAML forbids it; the parser does not always say where).</summary>
    private static int? FirstTabIndent(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            if (lines[i].AsSpan(0, indent).Contains('\t'))
            {
                return i + 1;
            }
        }

        return null;
    }

    private static ConfigLoadResult Failed(string file, string message) =>
        new(null, [new ConfigProblem(file, 0, 0, "", message, ProblemSeverity.Error)], file, Directory.GetCurrentDirectory());

    private static string CleanYamlMessage(string message)
    {
        // YamlDotNet prefixes messages with "(Line: x, Col: y, Idx: z) - (Line: ...): "; the location is ours to print.
        var marker = message.LastIndexOf("): ", StringComparison.Ordinal);
        return marker >= 0 && message.StartsWith("(Line", StringComparison.Ordinal) ? message[(marker + 3)..] : message;
    }
}
