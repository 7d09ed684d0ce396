using System.Text;

namespace Gateway.Configuration;

/// <summary>
/// Expands <c>${NAME}</c>, <c>${NAME:-default}</c> (environment) and <c>${file:PATH}</c> (file contents,
/// trimmed) in configuration values. <c>$${</c> stands for a literal <c>${</c>.
/// </summary>
internal sealed class Interpolation(Func<string, string?> environment, string baseDirectory)
{
    /// <summary>
    /// Most text all references of one configuration may insert. A value is expanded once however often aliases
    /// repeat it, but distinct values could each insert a large file; without a total, a 16 MiB config naming a
    /// 1 MiB file in every scalar would ask for terabytes.
    /// </summary>
    public const long MaxInsertedChars = 16 * 1024 * 1024;

    private readonly Dictionary<string, Expansion> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (bool Ok, string Value, string? Error)> _files = new(StringComparer.Ordinal);
    private long _inserted;

    /// <summary>Expands one value. Returns false with a reason when a reference cannot be resolved.</summary>
    public bool TryExpand(string value, out string result, out bool expanded, out string? error)
    {
        expanded = false;
        error = null;
        result = value;
        if (!value.Contains('$', StringComparison.Ordinal))
        {
            return true;
        }

        // The same text gives the same answer (and the same string, not a copy) every time it is met.
        if (!_values.TryGetValue(value, out var known))
        {
            var ok = TryExpandOnce(value, out var text, out var any, out var reason);
            known = new Expansion(ok, text, any, reason);
            _values[value] = known;
        }

        (result, expanded, error) = (known.Result, known.Expanded, known.Error);
        return known.Ok;
    }

    private bool TryExpandOnce(string value, out string result, out bool expanded, out string? error)
    {
        expanded = false;
        error = null;
        result = value;
        var builder = new StringBuilder(value.Length);
        var i = 0;
        while (i < value.Length)
        {
            var c = value[i];
            if (c == '$' && i + 2 < value.Length && value[i + 1] == '$' && value[i + 2] == '{')
            {
                builder.Append("${");
                i += 3;
                continue;
            }

            if (c != '$' || i + 1 >= value.Length || value[i + 1] != '{')
            {
                builder.Append(c);
                i++;
                continue;
            }

            var close = value.IndexOf('}', i + 2);
            if (close < 0)
            {
                error = "unterminated '${' (write '$${' for a literal '${')";
                return false;
            }

            var reference = value[(i + 2)..close];
            if (!TryResolve(reference, out var replacement, out error))
            {
                return false;
            }

            _inserted += replacement.Length;
            if (_inserted > MaxInsertedChars)
            {
                error = $"references insert more than {MaxInsertedChars / (1024 * 1024)} MiB of text in this config; refer to fewer or smaller files";
                return false;
            }

            builder.Append(replacement);
            expanded = true;
            i = close + 1;
        }

        result = builder.ToString();
        return true;
    }

    private bool TryResolve(string reference, out string value, out string? error)
    {
        value = "";
        error = null;
        if (reference.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = reference[5..].Trim();
            if (path.Length == 0)
            {
                error = "'${file:}' needs a path";
                return false;
            }

            var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
            if (!_files.TryGetValue(path + "\0" + full, out var read))
            {
                var ok = TryReadFile(path, full, out var content, out var reason);
                read = (ok, content, reason);
                _files[path + "\0" + full] = read;
            }

            (value, error) = (read.Value, read.Error);
            return read.Ok;
        }

        var name = reference;
        string? fallback = null;
        var separator = reference.IndexOf(":-", StringComparison.Ordinal);
        if (separator >= 0)
        {
            name = reference[..separator];
            fallback = reference[(separator + 2)..];
        }

        if (!IsVariableName(name))
        {
            error = $"'${{{reference}}}' is not a valid reference: use ${{NAME}}, ${{NAME:-default}} or ${{file:PATH}}";
            return false;
        }

        var found = environment(name);
        if (!string.IsNullOrEmpty(found))
        {
            value = found;
            return true;
        }

        if (fallback is not null)
        {
            value = fallback;
            return true;
        }

        error = $"environment variable {name} is not set (give a default with ${{{name}:-value}})";
        return false;
    }

    /// <summary>Largest file a reference may read: secrets and keys are small; anything bigger is a mistake.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    private static bool TryReadFile(string path, string full, out string value, out string? error)
    {
        value = "";
        if (Directory.Exists(full))
        {
            error = $"'${{file:{path}}}' is a directory, not a file";
            return false;
        }

        if (!File.Exists(full))
        {
            error = $"file '{path}' does not exist (looked at {full})";
            return false;
        }

        // Devices never end and FIFOs block on open: only regular files are read, and at most the cap.
        switch (ConfigFileReader.TryRead(full, MaxFileBytes, out var bytes, out var detail))
        {
            case FileReadFailure.NotRegular:
                error = $"'${{file:{path}}}' is not a regular file ({detail})";
                return false;
            case FileReadFailure.TooLarge:
                error = $"'${{file:{path}}}' is larger than {MaxFileBytes / 1024} KiB";
                return false;
            case FileReadFailure.Unreadable:
                error = $"cannot read '${{file:{path}}}': {detail}";
                return false;
        }

        value = Encoding.UTF8.GetString(bytes).Trim();
        error = null;
        return true;
    }

    private static bool IsVariableName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record Expansion(bool Ok, string Result, bool Expanded, string? Error);
}
