using System.Runtime.CompilerServices;

namespace Gateway.Routing;

internal enum SegmentKind
{
    Literal,
    Parameter,
    Wildcard,
}

/// <summary>One segment of a route path.</summary>
internal readonly record struct PatternSegment(SegmentKind Kind, string Value);

/// <summary>
/// A parsed route path: literal segments, <c>:name</c> / <c>{name}</c> parameters (one segment) and a final
/// <c>*name</c> / <c>{**name}</c> wildcard (the rest, possibly empty).
/// </summary>
internal sealed class RoutePattern
{
    private RoutePattern(string text, PatternSegment[] segments)
    {
        Text = text;
        Segments = segments;
        foreach (var segment in segments)
        {
            switch (segment.Kind)
            {
                case SegmentKind.Literal:
                    LiteralCount++;
                    break;
                case SegmentKind.Parameter:
                    ParameterCount++;
                    break;
                default:
                    HasWildcard = true;
                    break;
            }
        }

        var prefix = 0;
        while (prefix < segments.Length && segments[prefix].Kind == SegmentKind.Literal)
        {
            prefix++;
        }

        LiteralPrefixSegments = prefix;
    }

    public string Text { get; }

    public PatternSegment[] Segments { get; }

    public int LiteralCount { get; }

    public int ParameterCount { get; }

    public bool HasWildcard { get; }

    public bool IsExact => ParameterCount == 0 && !HasWildcard;

    /// <summary>How many leading segments are literal: what <c>strip_prefix</c> removes.</summary>
    public int LiteralPrefixSegments { get; }

    /// <summary>The normalized text of the pattern, used to compare routes.</summary>
    /// <remarks>Built on first use and kept: validation groups every route of a table by it.</remarks>
    public string Canonical => _canonical ??= "/" + string.Join('/', Segments.Select(s => s.Kind switch
    {
        SegmentKind.Literal => s.Value,
        SegmentKind.Parameter => ":",
        _ => "*",
    }));

    private string? _canonical;

    /// <summary>
    /// Patterns already parsed, by the path string they came from: validation and compilation parse the same
    /// strings of the same records, and a large table paid for it twice. Weak keys: a table's entries go with it.
    /// </summary>
    private static readonly ConditionalWeakTable<string, RoutePattern> Parsed = [];

    public static bool TryParse(string text, out RoutePattern? pattern, out string? error)
    {
        error = null;
        if (text is not null && Parsed.TryGetValue(text, out pattern))
        {
            return true;
        }

        if (!TryParseNew(text!, out pattern, out error))
        {
            return false;
        }

        Parsed.AddOrUpdate(text!, pattern!);
        return true;
    }

    private static bool TryParseNew(string text, out RoutePattern? pattern, out string? error)
    {
        pattern = null;
        error = null;
        if (string.IsNullOrEmpty(text) || text[0] != '/')
        {
            error = "must start with '/'";
            return false;
        }

        if (text.Contains('?', StringComparison.Ordinal) || text.Contains('#', StringComparison.Ordinal))
        {
            error = "must not contain a query ('?') or fragment ('#')";
            return false;
        }

        var parts = text[1..].Split('/');
        var segments = new List<PatternSegment>(parts.Length);
        HashSet<string>? names = null;
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            var isLast = i == parts.Length - 1;
            if (part.Length == 0 && !isLast)
            {
                error = "must not contain empty segments ('//')";
                return false;
            }

            PatternSegment segment;
            if (part.StartsWith(':'))
            {
                segment = new PatternSegment(SegmentKind.Parameter, part[1..]);
            }
            else if (part.StartsWith('*'))
            {
                segment = new PatternSegment(SegmentKind.Wildcard, part[1..]);
            }
            else if (part.StartsWith("{**", StringComparison.Ordinal) && part.EndsWith('}'))
            {
                segment = new PatternSegment(SegmentKind.Wildcard, part[3..^1]);
            }
            else if (part.StartsWith("{*", StringComparison.Ordinal) && part.EndsWith('}'))
            {
                segment = new PatternSegment(SegmentKind.Wildcard, part[2..^1]);
            }
            else if (part.StartsWith('{') && part.EndsWith('}'))
            {
                segment = new PatternSegment(SegmentKind.Parameter, part[1..^1]);
            }
            else
            {
                if (part.AsSpan().IndexOfAny("{}*") >= 0)
                {
                    error = $"segment '{part}' mixes text and a parameter; a parameter must be a whole segment";
                    return false;
                }

                if (part is "." or "..")
                {
                    error = "must not contain '.' or '..' segments";
                    return false;
                }

                var normalizeError = PathNormalizer.Normalize("/" + part, out var normalized, out var encodedSlash);
                if (normalizeError != PathError.None || encodedSlash || (normalized == "/" && part.Length > 0))
                {
                    error = $"segment '{part}' is not a valid path segment";
                    return false;
                }

                segment = new PatternSegment(SegmentKind.Literal, normalized.Length > 1 ? normalized[1..] : "");
            }

            if (segment.Kind != SegmentKind.Literal)
            {
                if (segment.Kind == SegmentKind.Wildcard && !isLast)
                {
                    error = $"the wildcard '{part}' must be the last segment";
                    return false;
                }

                if (segment.Value.Length > 0 && !IsName(segment.Value))
                {
                    error = $"'{segment.Value}' is not a valid parameter name (letters, digits, '_')";
                    return false;
                }

                if (segment.Kind == SegmentKind.Parameter && segment.Value.Length == 0)
                {
                    error = $"segment '{part}' needs a parameter name";
                    return false;
                }

                if (segment.Value.Length > 0 && !(names ??= new HashSet<string>(StringComparer.Ordinal)).Add(segment.Value))
                {
                    error = $"parameter '{segment.Value}' appears twice";
                    return false;
                }
            }

            segments.Add(segment);
        }

        pattern = new RoutePattern(text, [.. segments]);
        return true;
    }

    /// <summary>
    /// Matches a normalized path against this pattern and returns the parameter values (for explain,
    /// rewrites and logs; the matcher itself does not allocate them).
    /// </summary>
    public bool TryMatch(string path, out Dictionary<string, string> values)
    {
        values = new Dictionary<string, string>(StringComparer.Ordinal);
        var position = 1;
        for (var i = 0; i < Segments.Length; i++)
        {
            var segment = Segments[i];
            if (segment.Kind == SegmentKind.Wildcard)
            {
                var rest = position > path.Length ? "" : path[position..];
                if (segment.Value.Length > 0)
                {
                    values[segment.Value] = rest;
                }

                return true;
            }

            if (position > path.Length)
            {
                return false;
            }

            var end = path.IndexOf('/', position);
            var text = end < 0 ? path[position..] : path[position..end];
            position = end < 0 ? path.Length + 1 : end + 1;
            if (segment.Kind == SegmentKind.Literal)
            {
                if (!string.Equals(text, segment.Value, StringComparison.Ordinal))
                {
                    return false;
                }
            }
            else
            {
                if (text.Length == 0)
                {
                    return false;
                }

                values[segment.Value] = text;
            }
        }

        return position > path.Length;
    }

    /// <summary>
    /// The path with the literal prefix removed (<c>strip_prefix</c>); an empty rest becomes <c>/</c>.
    /// The query string is not part of the path and is kept by the caller.
    /// </summary>
    public string StripPrefix(string path)
    {
        var position = 0;
        for (var i = 0; i < LiteralPrefixSegments; i++)
        {
            var next = path.IndexOf('/', position + 1);
            if (next < 0)
            {
                return "/";
            }

            position = next;
        }

        return position == 0 ? path : path[position..];
    }

    private static bool IsName(string name)
    {
        if (!(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}
