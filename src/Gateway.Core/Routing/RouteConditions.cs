using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Routing;

/// <summary>A condition on one header or query parameter: an exact value, a full-match regex, or presence.</summary>
internal sealed class ValueCondition(string name, string? exact, Regex? regex, bool? present)
{
    public string Name { get; } = name;

    public string Describe() => exact is not null ? $"= '{exact}'"
        : regex is not null ? $"matches /{regex}/"
        : present == false ? "absent" : "present";

    public bool Matches(StringValues values)
    {
        if (present is bool mustBePresent && exact is null && regex is null)
        {
            return mustBePresent == (values.Count > 0);
        }

        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            if (value is null)
            {
                continue;
            }

            if (exact is not null ? string.Equals(value, exact, StringComparison.Ordinal) : regex!.IsMatch(value))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Hosts a route answers for: exact names or <c>*.suffix</c> wildcards, compared without case or port.</summary>
internal sealed class HostCondition
{
    private readonly HashSet<string> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _suffixes = [];

    public HostCondition(IEnumerable<string> hosts)
    {
        foreach (var host in hosts)
        {
            if (host.StartsWith("*.", StringComparison.Ordinal))
            {
                _suffixes.Add(host[1..]);
            }
            else
            {
                _exact.Add(host);
            }
        }

        Patterns = [.. hosts];
    }

    public IReadOnlyList<string> Patterns { get; }

    public bool Matches(string host)
    {
        if (_exact.Contains(host))
        {
            return true;
        }

        foreach (var suffix in _suffixes)
        {
            if (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Everything besides the path that decides whether a route takes a request.</summary>
internal sealed class RouteConditions(string[]? methods, HostCondition? hosts, ValueCondition[] headers, ValueCondition[] query)
{
    /// <summary>Upper-case method names, or null for any method.</summary>
    public string[]? Methods { get; } = methods;

    public HostCondition? Hosts { get; } = hosts;

    public ValueCondition[] Headers { get; } = headers;

    public ValueCondition[] Query { get; } = query;

    public int Count => (Hosts is null ? 0 : 1) + Headers.Length + Query.Length;

    public bool AllowsMethod(string method)
    {
        if (Methods is null)
        {
            return true;
        }

        foreach (var allowed in Methods)
        {
            if (ReferenceEquals(allowed, method) || string.Equals(allowed, method, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public bool MatchesRequest(HttpRequest request)
    {
        if (Hosts is not null && !Hosts.Matches(request.Host.Host))
        {
            return false;
        }

        foreach (var header in Headers)
        {
            if (!header.Matches(request.Headers[header.Name]))
            {
                return false;
            }
        }

        if (Query.Length > 0)
        {
            var parameters = request.Query;
            foreach (var condition in Query)
            {
                if (!condition.Matches(parameters[condition.Name]))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
