using Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Routing;

/// <summary>What routing decided for a request, before any policy runs.</summary>
internal readonly record struct RouteResolution(int Status, CompiledRoute? Route, NormalizedTarget Target, string? Allow, string? Detail)
{
    public bool IsRouted => Status == StatusCodes.Status200OK;
}

/// <summary>
/// The routing decision, shared by the live pipeline and the offline tools (explain, test), so that
/// what they report is what the gateway does.
/// </summary>
internal static class RouteResolver
{
    public static RouteResolution Resolve(RuntimeConfig config, HttpRequest request, string rawTarget)
    {
        var target = PathNormalizer.NormalizeTarget(rawTarget);
        if (!target.IsValid)
        {
            return new RouteResolution(StatusCodes.Status400BadRequest, null, target, null, Describe(target.Error));
        }

        var match = config.Matcher.Match(request.Method, target.Path, request);
        if (match.Outcome == MatchOutcome.NotFound)
        {
            return new RouteResolution(StatusCodes.Status404NotFound, null, target, null, "No route matches this request.");
        }

        if (match.Outcome == MatchOutcome.MethodNotAllowed)
        {
            return new RouteResolution(StatusCodes.Status405MethodNotAllowed, null, target, match.Allow, $"The route for this path accepts only: {match.Allow}.");
        }

        var route = match.Route!;
        if (target.HasEncodedSlash && !route.AllowEncodedSlashes)
        {
            return new RouteResolution(StatusCodes.Status400BadRequest, route, target, null,
                "The path contains an encoded slash or backslash (%2F, %5C), which this route does not accept.");
        }

        if (route.Unavailable is { } reason)
        {
            return new RouteResolution(StatusCodes.Status503ServiceUnavailable, route, target, null, reason);
        }

        return new RouteResolution(StatusCodes.Status200OK, route, target, null, null);
    }

    internal static string Describe(PathError error) => error switch
    {
        PathError.InvalidCharacter => "The path contains a character that is not allowed.",
        PathError.InvalidPercentEncoding => "The path contains an invalid percent-encoding.",
        PathError.EncodedNul => "The path contains an encoded NUL (%00).",
        PathError.DotSegmentWithParameters => "The path contains a dot segment with parameters (such as '..;').",
        _ => "The request target is not a path.",
    };
}
