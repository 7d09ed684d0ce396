using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Routing;

/// <summary>What routing decided for a request, before any policy runs.</summary>
internal readonly record struct RouteResolution(int Status, CompiledRoute? Route, NormalizedTarget Target, string? Allow, string? Detail)
{
    /// <summary>For a 503: why the route cannot serve this request.</summary>
    public RouteUnavailable? Unavailable { get; init; }

    public bool IsRouted => Status == StatusCodes.Status200OK;
}

/// <summary>
/// The routing decision: normalization, the match, and the refusals that follow from them. The route-match stage
/// runs it for every request; the offline verbs reach it through the same stage.
/// </summary>
internal static class RouteResolver
{
    /// <summary>What a route that names no methods accepts when asked with TRACE or CONNECT.</summary>
    private const string OrdinaryMethods = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

    public static RouteResolution Resolve(RuntimeConfig config, Exchange exchange)
    {
        var target = PathNormalizer.NormalizeTarget(exchange.RawTarget);
        if (!target.IsValid)
        {
            return new RouteResolution(StatusCodes.Status400BadRequest, null, target, null, Describe(target.Error));
        }

        exchange.Path = target.Path;
        exchange.Query = target.Query;
        var match = config.Matcher.Match(exchange.Method, target.Path, exchange);

        // A CORS preflight asks whether the method it names may be used here. Every route its real request could
        // reach (header conditions aside: the preflight has none of its headers) must allow it, so it is answered
        // by the gateway whenever one of those routes, or the route OPTIONS itself reaches, has a CORS policy;
        // otherwise it is an ordinary OPTIONS request for the backend.
        if (HttpMethods.IsOptions(exchange.Method) && exchange.RequestHeaders.ContainsKey(HeaderNames.Origin)
            && exchange.RequestHeaders.ContainsKey(HeaderNames.AccessControlRequestMethod))
        {
            var asked = exchange.RequestHeaders[HeaderNames.AccessControlRequestMethod] is [{ } one] && Configuration.Validation.ValidationRules.IsToken(one) ? one : null;
            var candidates = asked is null ? [] : config.Matcher.PreflightCandidates(asked, target.Path, exchange);
            var answering = candidates.Find(HasCors) ?? (match.Outcome == MatchOutcome.Matched && HasCors(match.Route!) ? match.Route : null);
            if (answering is not null)
            {
                match = new RouteMatch(MatchOutcome.Matched, answering, null);
                exchange.IsPreflight = true;
                exchange.PreflightRoutes = candidates;
            }
        }

        if (match.Outcome == MatchOutcome.NotFound)
        {
            return new RouteResolution(StatusCodes.Status404NotFound, null, target, null, "No route matches this request.");
        }

        if (match.Outcome == MatchOutcome.MethodNotAllowed)
        {
            return new RouteResolution(StatusCodes.Status405MethodNotAllowed, null, target, match.Allow, $"The route for this path accepts only: {match.Allow}.");
        }

        var route = match.Route!;

        // TRACE echoes the request (cookies and credentials included) and CONNECT opens a tunnel: neither is
        // forwarded unless a route asks for it by name.
        if ((HttpMethods.IsTrace(exchange.Method) || HttpMethods.IsConnect(exchange.Method)) && !route.Conditions.ListsMethod(exchange.Method))
        {
            var allow = route.Conditions.Methods is { } listed ? string.Join(", ", listed.Order(StringComparer.Ordinal)) : OrdinaryMethods;
            return new RouteResolution(StatusCodes.Status405MethodNotAllowed, null, target, allow,
                $"{exchange.Method} is refused unless a route lists it in its methods.");
        }

        if (target.HasEncodedSlash && !route.AllowEncodedSlashes)
        {
            return new RouteResolution(StatusCodes.Status400BadRequest, route, target, null,
                "The path contains an encoded slash or backslash (%2F, %5C), which this route does not accept.");
        }

        if (route.Unavailable is { } unavailable)
        {
            return new RouteResolution(StatusCodes.Status503ServiceUnavailable, route, target, null, unavailable.Detail) { Unavailable = unavailable };
        }

        // Limits on upgraded connections are protection too: until they are enforced, such a route refuses upgrades
        // (its plain requests are served). HTTP/2 WebSockets (RFC 8441) come as an extended CONNECT without Upgrade.
        if (route.Source.Websocket is not null && (exchange.RequestHeaders.ContainsKey(HeaderNames.Upgrade) || HttpMethods.IsConnect(exchange.Method)))
        {
            return new RouteResolution(StatusCodes.Status503ServiceUnavailable, route, target, null, UpgradesRefused.Detail) { Unavailable = UpgradesRefused };
        }

        return new RouteResolution(StatusCodes.Status200OK, route, target, null, null);
    }

    private static bool HasCors(CompiledRoute route) => route.Policy<Cors.CorsPolicy>() is not null;

    /// <summary>Why an upgrade on a route with <c>websocket</c> limits is refused (its plain requests are served).</summary>
    private static readonly RouteUnavailable UpgradesRefused = RouteUnavailable.Feature("websocket",
        "This route sets websocket limits, which this gateway version does not enforce yet; upgrades are refused until it does.");

    internal static string Describe(PathError error) => error switch
    {
        PathError.InvalidCharacter => "The path contains a character that is not allowed.",
        PathError.InvalidPercentEncoding => "The path contains an invalid percent-encoding.",
        PathError.EncodedNul => "The path contains an encoded NUL (%00).",
        PathError.DotSegmentWithParameters => "The path contains a dot segment with parameters (such as '..;').",
        _ => "The request target is not a path.",
    };
}
