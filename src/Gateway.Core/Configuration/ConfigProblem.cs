using System.Text.Json.Serialization;

namespace Gateway.Configuration;

internal enum ProblemSeverity
{
    Error,
    Warning,
}

/// <summary>One problem found in a configuration file, with where it is.</summary>
internal sealed record ConfigProblem(string File, int Line, int Column, string Path, string Message, ProblemSeverity Severity)
{
    [JsonIgnore]
    public bool IsError => Severity == ProblemSeverity.Error;

    /// <summary>The one-line form: <c>FILE:LINE:COL: PATH: MESSAGE</c> (warnings say so after the location).</summary>
    public override string ToString()
    {
        var location = Line > 0 ? $"{File}:{Line}:{Column}: " : $"{File}: ";
        var kind = IsError ? "" : "warning: ";
        var path = Path.Length > 0 ? Path + ": " : "";
        return location + kind + path + Message;
    }
}

/// <summary>Where each key path of a loaded file was written.</summary>
internal sealed class SourceMap
{
    private readonly Dictionary<string, (int Line, int Column)> _positions = new(StringComparer.Ordinal);

    public void Add(string path, int line, int column) => _positions.TryAdd(path, (line, column));

    /// <summary>The position of the path, or of its nearest ancestor that was written in the file.</summary>
    public (int Line, int Column) Find(string path)
    {
        var current = path;
        while (true)
        {
            if (_positions.TryGetValue(current, out var position))
            {
                return position;
            }

            if (current.Length == 0)
            {
                return (1, 1);
            }

            current = Parent(current);
        }
    }

    public bool Contains(string path) => _positions.ContainsKey(path);

    private static string Parent(string path)
    {
        var cut = path.Length - 1;
        while (cut > 0 && path[cut] != '.' && path[cut] != '[')
        {
            cut--;
        }

        return cut <= 0 ? "" : path[..cut];
    }
}

/// <summary>Collects every problem of one configuration; never stops at the first.</summary>
internal sealed class ConfigDiagnostics(string file, SourceMap map)
{
    private readonly List<ConfigProblem> _problems = [];

    public string File { get; } = file;

    public SourceMap Map { get; } = map;

    public IReadOnlyList<ConfigProblem> Problems => _problems;

    public bool HasErrors
    {
        get
        {
            foreach (var problem in _problems)
            {
                if (problem.IsError)
                {
                    return true;
                }
            }

            return false;
        }
    }

    private readonly List<(string Value, string Reference)> _interpolated = [];

    /// <summary>
    /// Remembers a value that came from <c>${...}</c>: messages show the reference, never the value (which may be
    /// a secret file or variable put in the wrong key).
    /// </summary>
    public void RecordInterpolated(string value, string reference)
    {
        if (value.Length >= 4 && value != reference)
        {
            _interpolated.Add((value, reference));
        }
    }

    public void Error(string path, string message) => Add(path, message, ProblemSeverity.Error);

    public void Warning(string path, string message) => Add(path, message, ProblemSeverity.Warning);

    public void ErrorAt(int line, int column, string path, string message) =>
        _problems.Add(new ConfigProblem(File, line, column, path, message, ProblemSeverity.Error));

    private void Add(string path, string message, ProblemSeverity severity)
    {
        foreach (var (value, reference) in _interpolated)
        {
            message = message.Replace(value, reference, StringComparison.Ordinal);
        }

        var (line, column) = Map.Find(path);
        _problems.Add(new ConfigProblem(File, line, column, path, message, severity));
    }
}
