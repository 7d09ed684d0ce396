using System.Collections.Frozen;

namespace Gateway.Compression;

/// <summary>
/// The media types a compression policy covers, as the config lists them: exact types (<c>application/json</c>),
/// whole top-level types (<c>text/*</c>) and structured-syntax suffixes (<c>*/*+json</c>). Compared without case and
/// without parameters (<c>text/html; charset=utf-8</c> is <c>text/html</c>).
/// </summary>
internal sealed class MediaTypeSet
{
    private readonly FrozenSet<string> _exact;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly string[] _topLevel;
    private readonly string[] _suffixes;

    private MediaTypeSet(FrozenSet<string> exact, string[] topLevel, string[] suffixes)
    {
        _exact = exact;
        _exactLookup = exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _topLevel = topLevel;
        _suffixes = suffixes;
    }

    public int Count => _exact.Count + _topLevel.Length + _suffixes.Length;

    /// <summary>Builds the set from patterns that <see cref="IsPattern"/> accepts (others are left out: validation refused them).</summary>
    public static MediaTypeSet Build(IEnumerable<string> patterns)
    {
        var exact = new List<string>();
        var topLevel = new List<string>();
        var suffixes = new List<string>();
        foreach (var raw in patterns)
        {
            var pattern = raw.Trim();
            if (!IsPattern(pattern))
            {
                continue;
            }

            if (pattern.StartsWith("*/*+", StringComparison.Ordinal))
            {
                suffixes.Add(pattern[3..]);
            }
            else if (pattern.EndsWith("/*", StringComparison.Ordinal))
            {
                topLevel.Add(pattern[..^1]);
            }
            else
            {
                exact.Add(pattern);
            }
        }

        return new MediaTypeSet(exact.ToFrozenSet(StringComparer.OrdinalIgnoreCase), [.. topLevel], [.. suffixes]);
    }

    /// <summary>Whether a config entry is a pattern this set understands: <c>type/subtype</c>, <c>type/*</c> or <c>*/*+suffix</c>.</summary>
    public static bool IsPattern(string pattern)
    {
        var slash = pattern.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        var type = pattern.AsSpan(0, slash);
        var subtype = pattern.AsSpan(slash + 1);
        if (type.SequenceEqual("*"))
        {
            // Only a suffix may follow a wildcard type: "*/*" alone would compress images, archives and video.
            return subtype.StartsWith("*+") && Configuration.Validation.ValidationRules.IsToken(subtype[2..]) && !subtype[2..].Contains('*');
        }

        return Configuration.Validation.ValidationRules.IsToken(type) && !type.Contains('*')
            && (subtype.SequenceEqual("*") || (Configuration.Validation.ValidationRules.IsToken(subtype) && !subtype.Contains('*')));
    }

    /// <summary>Whether a <c>Content-Type</c> value is covered (its parameters ignored).</summary>
    public bool Contains(ReadOnlySpan<char> contentType)
    {
        var semicolon = contentType.IndexOf(';');
        var mediaType = (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
        var slash = mediaType.IndexOf('/');
        if (slash <= 0 || slash == mediaType.Length - 1)
        {
            return false;
        }

        if (_exactLookup.Contains(mediaType))
        {
            return true;
        }

        foreach (var prefix in _topLevel)
        {
            if (mediaType.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var suffix in _suffixes)
        {
            if (mediaType.Length > suffix.Length + slash + 1 && mediaType.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
