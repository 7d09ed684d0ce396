using Gateway.Configuration;

namespace Gateway.Routing;

/// <summary>A route ready to serve: its matcher data and the compiled policy of each stage. Immutable once published.</summary>
internal sealed class CompiledRoute
{
    public required string Id { get; init; }

    /// <summary>Position in the file (0-based), the last tie-breaker of precedence.</summary>
    public required int Index { get; init; }

    public required RoutePattern Pattern { get; init; }

    public required RouteConditions Conditions { get; init; }

    /// <summary>Precedence: lower wins. Computed once for the whole table.</summary>
    public int Rank { get; set; }

    public int Priority { get; init; }

    public string? Description { get; init; }

    public bool StripPrefix { get; init; }

    public bool PreserveHost { get; init; }

    public bool AllowEncodedSlashes { get; init; }

    /// <summary>When set, the route answers 503 for this instead of serving (a policy it needs is not enforced yet).</summary>
    public RouteUnavailable? Unavailable { get; init; }

    public required RouteConfig Source { get; init; }

    /// <summary>The policy of each route stage, indexed like <see cref="Pipeline.GatewayFeatures.Stages"/> (null: the stage is skipped).</summary>
    public object?[] Policies { get; } = new object?[Pipeline.GatewayFeatures.Stages.Length];

    /// <summary>The route's policy of a type, or null (tools and tests; requests get theirs from the runner).</summary>
    public T? Policy<T>()
        where T : class
    {
        foreach (var policy in Policies)
        {
            if (policy is T match)
            {
                return match;
            }
        }

        return null;
    }

    /// <summary>The path the backend receives for a matched, normalized path (before any rewrite).</summary>
    public string UpstreamPath(string normalizedPath) => StripPrefix ? Pattern.StripPrefix(normalizedPath) : normalizedPath;
}

/// <summary>Why a route cannot serve safely: the access log's code (<c>unavailable:FEATURE</c>) and the words the client gets.</summary>
internal sealed record RouteUnavailable(string Reason, string Detail)
{
    /// <summary>A route the named feature (its config key) cannot enforce in this build.</summary>
    public static RouteUnavailable Feature(string feature, string detail) => new("unavailable:" + feature, detail);
}
