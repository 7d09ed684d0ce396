using System.Text.RegularExpressions;

namespace Gateway.Transforms;

/// <summary>Why a rewritten path is not sent.</summary>
internal enum RewriteFailure : byte
{
    None,

    /// <summary>A backtracking pattern ran past its match timeout on this path.</summary>
    Timeout,

    /// <summary>The result holds what a path sent upstream must not: a dot segment, a control character, '?', '#', an encoded NUL or slash.</summary>
    Unsafe,
}

/// <summary>
/// One <c>path_rewrites</c> entry, compiled once: the pattern on the linear-time engine when it can run there (every
/// pattern without backreferences, lookarounds, atomic groups or conditionals), otherwise on the backtracking engine
/// with a <see cref="BacktrackingTimeout"/> per match. The first match in the path is replaced; the rest is kept.
/// </summary>
internal sealed partial class PathRewrite
{
    public static readonly TimeSpan BacktrackingTimeout = TimeSpan.FromMilliseconds(100);

    private PathRewrite(Regex regex, string replacement, bool backtracking)
    {
        Regex = regex;
        Replacement = replacement;
        Backtracking = backtracking;
    }

    public Regex Regex { get; }

    public string Replacement { get; }

    /// <summary>The pattern needs the backtracking engine (and so runs under a timeout).</summary>
    public bool Backtracking { get; }

    /// <summary>Compiles a pattern; throws <see cref="ArgumentException"/> when it is no regex at all.</summary>
    public static PathRewrite Create(string pattern, string replacement)
    {
        try
        {
            return new PathRewrite(new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking), replacement, backtracking: false);
        }
        catch (NotSupportedException)
        {
            return new PathRewrite(new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, BacktrackingTimeout), replacement, backtracking: true);
        }
    }

    /// <summary>The path with its first match replaced (the same string when nothing matches).</summary>
    public string Apply(string path)
    {
        var match = Regex.Match(path);
        if (!match.Success)
        {
            return path;
        }

        return string.Concat(path.AsSpan(0, match.Index), match.Result(Replacement), path.AsSpan(match.Index + match.Length));
    }

    /// <summary>
    /// Every rewrite in order, each on the result of the one before; the result made absolute. Null with a failure when
    /// the result cannot be sent (or a pattern timed out): the request is then refused, never sent unrewritten.
    /// </summary>
    public static string? ApplyAll(PathRewrite[] rewrites, string path, bool allowEncodedSlashes, out RewriteFailure failure, out int failed)
    {
        failed = -1;
        var result = path;
        for (var i = 0; i < rewrites.Length; i++)
        {
            try
            {
                result = rewrites[i].Apply(result);
            }
            catch (RegexMatchTimeoutException)
            {
                failure = RewriteFailure.Timeout;
                failed = i;
                return null;
            }
        }

        if (result.Length == 0 || result[0] != '/')
        {
            result = "/" + result;
        }

        if (result.Contains("//", StringComparison.Ordinal))
        {
            // Repeated slashes merge, as they do in every path the gateway takes in: "//host/x" would read as an authority.
            result = RepeatedSlashes().Replace(result, "/");
        }

        failure = IsSendable(result, allowEncodedSlashes) ? RewriteFailure.None : RewriteFailure.Unsafe;
        return failure == RewriteFailure.None ? result : null;
    }

    /// <summary>
    /// Whether a rewritten path can go upstream as it is: no control characters, no '?' or '#' (they would end the path), no backslash,
    /// no encoded NUL, no encoded slash or backslash unless the route takes them, and no dot segment (<c>.</c>, <c>..</c>,
    /// also percent-encoded or with parameters), which a backend would resolve against a prefix the rewrite chose.
    /// </summary>
    public static bool IsSendable(string path, bool allowEncodedSlashes)
    {
        if (ValueTemplate.HasControl(path) || path.AsSpan().ContainsAny('?', '#', '\\')
            || path.Contains("%00", StringComparison.Ordinal)
            || (!allowEncodedSlashes && (path.Contains("%2F", StringComparison.OrdinalIgnoreCase) || path.Contains("%5C", StringComparison.OrdinalIgnoreCase))))
        {
            return false;
        }

        foreach (var range in path.AsSpan().Split('/'))
        {
            var segment = path.AsSpan()[range];
            // Parameters (";x", also spelled "%3B") do not make a dot segment something else.
            var parameters = segment.IndexOf(';');
            var encoded = segment.IndexOf("%3B", StringComparison.OrdinalIgnoreCase);
            var cut = parameters < 0 ? encoded : encoded < 0 ? parameters : Math.Min(parameters, encoded);
            if (cut >= 0)
            {
                segment = segment[..cut];
            }

            if (IsDot(segment))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsDot(ReadOnlySpan<char> segment)
    {
        // ".", "..", and their spellings with %2E.
        var dots = 0;
        for (var i = 0; i < segment.Length;)
        {
            if (segment[i] == '.')
            {
                i++;
            }
            else if (i + 2 < segment.Length && segment[i] == '%' && segment[i + 1] == '2' && (segment[i + 2] | 0x20) == 'e')
            {
                i += 3;
            }
            else
            {
                return false;
            }

            dots++;
        }

        return dots is 1 or 2;
    }

    /// <summary>
    /// Checks a replacement against its pattern: <c>$n</c>, <c>${name}</c>, <c>$0</c> and <c>$&amp;</c> must name groups
    /// the pattern has, <c>$$</c> is a literal '$', anything else after '$' is refused. Returns the replacement with each
    /// group reference as one letter (to be checked like a path), or null with the problem.
    /// </summary>
    public static string? CheckReplacement(Regex regex, string replacement, out string error)
    {
        error = "";
        var numbers = regex.GetGroupNumbers();
        var names = regex.GetGroupNames();
        var literal = new System.Text.StringBuilder();
        for (var i = 0; i < replacement.Length; i++)
        {
            if (replacement[i] != '$')
            {
                literal.Append(replacement[i]);
                continue;
            }

            if (i + 1 >= replacement.Length)
            {
                error = "ends with a lone '$' (write '$$' for a literal '$')";
                return null;
            }

            var next = replacement[i + 1];
            if (next is '$')
            {
                literal.Append('$');
                i++;
            }
            else if (next is '&')
            {
                literal.Append('x');
                i++;
            }
            else if (char.IsAsciiDigit(next))
            {
                var end = i + 1;
                while (end < replacement.Length && char.IsAsciiDigit(replacement[end]))
                {
                    end++;
                }

                if (!int.TryParse(replacement.AsSpan(i + 1, end - i - 1), out var number) || Array.IndexOf(numbers, number) < 0)
                {
                    error = $"'{replacement[i..end]}' names a group the pattern does not have (it has {numbers.Length - 1})";
                    return null;
                }

                literal.Append('x');
                i = end - 1;
            }
            else if (next is '{')
            {
                var close = replacement.IndexOf('}', i + 2);
                var name = close < 0 ? "" : replacement[(i + 2)..close];
                if (close < 0 || Array.IndexOf(names, name) < 0)
                {
                    error = close < 0 ? "'${' has no closing '}'" : $"'${{{name}}}' names a group the pattern does not have";
                    return null;
                }

                literal.Append('x');
                i = close;
            }
            else
            {
                error = $"'${next}' is not a group reference (use $1, ${{name}}, or '$$' for a literal '$')";
                return null;
            }
        }

        return literal.ToString();
    }

    [GeneratedRegex("/{2,}")]
    private static partial Regex RepeatedSlashes();
}
