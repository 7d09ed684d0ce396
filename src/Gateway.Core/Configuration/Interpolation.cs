using System.Text;

namespace Gateway.Configuration;

/// <summary>
/// Expands <c>${NAME}</c>, <c>${NAME:-default}</c> (environment) and <c>${file:PATH}</c> (file contents,
/// trimmed) in configuration values. <c>$${</c> stands for a literal <c>${</c>.
/// </summary>
internal sealed class Interpolation(Func<string, string?> environment, string baseDirectory)
{
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
            return TryReadFile(path, full, out value, out error);
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

        // Pipes and devices never end or block on open; give the read a deadline and a size cap.
        var read = Task.Run(() =>
        {
            using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var buffer = new byte[MaxFileBytes + 1];
            var total = 0;
            int n;
            while (total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += n;
            }

            return total > MaxFileBytes ? null : System.Text.Encoding.UTF8.GetString(buffer, 0, total);
        });
        try
        {
            if (!read.Wait(TimeSpan.FromSeconds(2)))
            {
                error = $"'${{file:{path}}}' could not be read within 2 s (a pipe or device?)";
                return false;
            }

            if (read.Result is not { } text)
            {
                error = $"'${{file:{path}}}' is larger than {MaxFileBytes / 1024} KiB";
                return false;
            }

            value = text.Trim();
            error = null;
            return true;
        }
        catch (AggregateException e) when (e.InnerException is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read '${{file:{path}}}': {e.InnerException.Message}";
            return false;
        }
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
}
