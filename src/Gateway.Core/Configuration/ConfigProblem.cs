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

    private readonly InterpolatedValues _interpolated = new();

    /// <summary>
    /// Remembers a value that came from <c>${...}</c>: messages show the reference, never the value (which may be
    /// a secret file or variable put in the wrong key).
    /// </summary>
    public void RecordInterpolated(string value, string reference)
    {
        if (value.Length >= 4 && value != reference)
        {
            _interpolated.Add(value, reference);
        }
    }

    public void Error(string path, string message) => Add(path, message, ProblemSeverity.Error);

    public void Warning(string path, string message) => Add(path, message, ProblemSeverity.Warning);

    public void ErrorAt(int line, int column, string path, string message) =>
        _problems.Add(new ConfigProblem(File, line, column, path, message, ProblemSeverity.Error));

    private void Add(string path, string message, ProblemSeverity severity)
    {
        message = _interpolated.Hide(message);
        var (line, column) = Map.Find(path);
        _problems.Add(new ConfigProblem(File, line, column, path, message, severity));
    }
}

/// <summary>
/// The interpolated values of one configuration and the references they came from, found in a message without
/// trying each value in turn: a table of 100,000 routes may hold as many distinct values, and trying them all for
/// every message made loading quadratic. Values are looked up by length with a rolling hash over the message, so a
/// message costs its length times the number of distinct value lengths no longer than it.
/// </summary>
internal sealed class InterpolatedValues
{
    /// <summary>The hash is taken modulo this prime (2^61 - 1) with a base drawn per process, so no file can be written to collide.</summary>
    private const ulong Modulus = (1UL << 61) - 1;

    private static readonly ulong Base = (ulong)Random.Shared.NextInt64(1 << 16, (long)Modulus - 1);

    private readonly List<(string Value, string Reference)> _ordered = [];
    private readonly HashSet<(string Value, string Reference)> _seen = [];
    private readonly SortedDictionary<int, ByLength> _byLength = [];

    public void Add(string value, string reference)
    {
        if (!_seen.Add((value, reference)))
        {
            return;
        }

        _ordered.Add((value, reference));
        if (!_byLength.TryGetValue(value.Length, out var group))
        {
            group = new ByLength(value.Length);
            _byLength[value.Length] = group;
        }

        group.Add(value, _ordered.Count - 1);
    }

    /// <summary>The message with every recorded value in it replaced by its reference, in the order they were recorded.</summary>
    public string Hide(string message)
    {
        if (_ordered.Count == 0)
        {
            return message;
        }

        List<int>? found = null;
        foreach (var (length, group) in _byLength)
        {
            if (length > message.Length)
            {
                break;
            }

            group.FindIn(message, ref found);
        }

        if (found is null)
        {
            return message;
        }

        found.Sort();
        var previous = -1;
        foreach (var order in found)
        {
            if (order != previous)
            {
                var (value, reference) = _ordered[order];
                message = message.Replace(value, reference, StringComparison.Ordinal);
                previous = order;
            }
        }

        return message;
    }

    private static ulong MultiplyMod(ulong a, ulong b)
    {
        // Both below 2^61: fold the 122-bit product using 2^61 = 1 (mod 2^61 - 1).
        var high = Math.BigMul(a, b, out var low);
        var folded = (low & Modulus) + (low >> 61) + (high << 3);
        folded = (folded & Modulus) + (folded >> 61);
        return folded >= Modulus ? folded - Modulus : folded;
    }

    private static ulong AddMod(ulong a, ulong b)
    {
        var sum = a + b;
        return sum >= Modulus ? sum - Modulus : sum;
    }

    private static ulong Hash(ReadOnlySpan<char> text)
    {
        var hash = 0UL;
        foreach (var c in text)
        {
            hash = AddMod(MultiplyMod(hash, Base), c);
        }

        return hash;
    }

    /// <summary>The values of one length, by hash.</summary>
    private sealed class ByLength
    {
        private readonly int _length;

        /// <summary>Base^(length - 1): the weight of the character leaving the window.</summary>
        private readonly ulong _leading = 1;

        private readonly Dictionary<ulong, List<(string Value, int Order)>> _byHash = [];

        public ByLength(int length)
        {
            _length = length;
            for (var i = 1; i < length; i++)
            {
                _leading = MultiplyMod(_leading, Base);
            }
        }

        public void Add(string value, int order)
        {
            var hash = Hash(value);
            if (!_byHash.TryGetValue(hash, out var values))
            {
                values = [];
                _byHash[hash] = values;
            }

            values.Add((value, order));
        }

        public void FindIn(string message, ref List<int>? found)
        {
            var hash = Hash(message.AsSpan(0, _length));
            for (var start = 0; ; start++)
            {
                if (_byHash.TryGetValue(hash, out var values))
                {
                    foreach (var (value, order) in values)
                    {
                        if (message.AsSpan(start, _length).SequenceEqual(value))
                        {
                            (found ??= []).Add(order);
                        }
                    }
                }

                if (start + _length >= message.Length)
                {
                    return;
                }

                var without = AddMod(hash, Modulus - MultiplyMod(message[start], _leading));
                hash = AddMod(MultiplyMod(without, Base), message[start + _length]);
            }
        }
    }
}
