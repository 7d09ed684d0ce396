using System.Text;

namespace Gateway.Configuration;

/// <summary>Route ids: the configured ones, or ones derived from the path when absent.</summary>
internal static class RouteIds
{
    public static bool IsValid(string id)
    {
        if (id.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsHostPattern(string host)
    {
        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The id of every route, in file order: configured ids first, derived ones made unique around them.</summary>
    public static string[] Assign(IReadOnlyList<RouteConfig> routes)
    {
        var result = new string[routes.Count];
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var route in routes)
        {
            if (route.Id is not null)
            {
                taken.Add(route.Id);
            }
        }

        // Where the search for a free suffix resumes for each derived id (1: none yet). Ids are only ever taken, so
        // a suffix once found taken stays taken: many routes deriving one id cost a step each, not a walk from -2.
        var nextSuffix = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < routes.Count; i++)
        {
            if (routes[i].Id is { } id)
            {
                result[i] = id;
                continue;
            }

            var derived = Derive(routes[i].Path);
            var suffix = nextSuffix.GetValueOrDefault(derived, 1);
            var candidate = suffix == 1 ? derived : $"{derived}-{suffix}";
            while (!taken.Add(candidate))
            {
                suffix++;
                candidate = $"{derived}-{suffix}";
            }

            nextSuffix[derived] = suffix + 1;
            result[i] = candidate;
        }

        return result;
    }

    private static string Derive(string path)
    {
        var builder = new StringBuilder(path.Length);
        foreach (var c in path)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.')
            {
                builder.Append(char.ToLowerInvariant(c));
            }
            else if (builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }
        }

        var id = builder.ToString().Trim('-');
        if (id.Length > 60)
        {
            id = id[..60].TrimEnd('-');
        }

        return id.Length == 0 ? "root" : id;
    }
}
