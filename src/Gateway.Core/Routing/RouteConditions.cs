using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Gateway.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Gateway.Routing;

/// <summary>
/// A condition on one header or query parameter: an exact value, a full-match regex, or presence. A regex that runs
/// out of its match time (50 ms) counts as no match: the request goes on to the next route, the time-out is counted,
/// and logged once per condition, so a hostile value can neither fail the request nor flood the log.
/// </summary>
internal sealed partial class ValueCondition(string name, string? exact, Regex? regex, bool? present, string routeId = "", ILogger? logger = null, Counter<long>? timeouts = null)
{
    private int _timedOut;

    public string Name { get; } = name;

    public string Describe() => exact is not null ? $"= '{exact}'"
        : regex is not null ? $"matches /{regex}/"
        : present == false ? "absent" : "present";

    /// <summary>
    /// Whether the values satisfy the condition. A value condition needs exactly one value: a header sent twice (or a
    /// query parameter given twice, in any case) never matches, since a backend may read the other copy.
    /// </summary>
    public bool Matches(StringValues values)
    {
        if (present is bool mustBePresent && exact is null && regex is null)
        {
            return mustBePresent == (values.Count > 0);
        }

        if (values.Count != 1 || values[0] is not { } value)
        {
            return false;
        }

        return exact is not null ? string.Equals(value, exact, StringComparison.Ordinal) : IsMatch(value);
    }

    private bool IsMatch(string value)
    {
        try
        {
            return regex!.IsMatch(value);
        }
        catch (RegexMatchTimeoutException)
        {
            timeouts?.Add(1, new KeyValuePair<string, object?>("route", routeId));
            if (logger is not null && Interlocked.Exchange(ref _timedOut, 1) == 0)
            {
                Log.TimedOut(logger, routeId, Name);
            }

            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "route {Route}: the regex condition on {Name} ran out of match time; such requests do not match this route (logged once)")]
        public static partial void TimedOut(ILogger logger, string route, string name);
    }
}

/// <summary>Hosts a route answers for: exact names or <c>*.suffix</c> wildcards, compared as <see cref="HostNames.Normalize"/> leaves them.</summary>
internal sealed class HostCondition
{
    private readonly HashSet<string> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _suffixes = [];

    public HostCondition(IEnumerable<string> hosts)
    {
        foreach (var host in hosts)
        {
            var name = HostNames.Normalize(host);
            if (name.StartsWith("*.", StringComparison.Ordinal))
            {
                _suffixes.Add(name[1..]);
            }
            else
            {
                _exact.Add(name);
            }
        }

        Patterns = [.. hosts];
    }

    public IReadOnlyList<string> Patterns { get; }

    /// <summary>Whether a normalized host name (<see cref="Exchange.HostName"/>) is one of these.</summary>
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

    /// <summary>The route lists this method itself (not merely "any method").</summary>
    public bool ListsMethod(string method) => Methods is not null && AllowsMethod(method);

    public bool MatchesRequest(Exchange exchange) => MatchesRequest(exchange, ignoreHeaders: false);

    /// <summary>Whether the request meets the conditions; <paramref name="ignoreHeaders"/> leaves header conditions out (a preflight has none of the real request's headers).</summary>
    public bool MatchesRequest(Exchange exchange, bool ignoreHeaders)
    {
        if (Hosts is not null && !Hosts.Matches(exchange.HostName))
        {
            return false;
        }

        foreach (var header in ignoreHeaders ? [] : Headers)
        {
            if (!header.Matches(exchange.RequestHeaders[header.Name]))
            {
                return false;
            }
        }

        foreach (var condition in Query)
        {
            if (!condition.Matches(exchange.QueryValue(condition.Name)))
            {
                return false;
            }
        }

        return true;
    }
}
