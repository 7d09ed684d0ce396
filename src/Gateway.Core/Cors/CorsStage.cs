using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Cors;

/// <summary>
/// Cross-origin resource sharing, globally and per route (a route's own block replaces the global one). Preflights
/// are answered here and never forwarded; other requests pass whatever their origin, and only an allowed origin's
/// response carries the allow headers, so the browser lets the page read it. On such a route the gateway owns the
/// CORS headers: a backend's own are replaced.
/// </summary>
internal sealed class CorsStage : Stage<CorsPolicy>
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CorsValidator.Validate(config, diagnostics);

    protected override CorsPolicy? CompilePolicy(StageCompilation compilation)
    {
        var own = compilation.RouteConfig!.Cors;
        if (own is not null)
        {
            return new CorsPolicy(own, global: false);
        }

        return compilation.Config.Cors is null ? null : compilation.Once(static c => new CorsPolicy(c.Config.Cors!, global: true));
    }

    protected override ValueTask<bool> Request(Exchange exchange, CorsPolicy policy)
    {
        var headers = exchange.RequestHeaders;
        if (headers[HeaderNames.Origin] is not [{ } origin] || !policy.Allows(origin))
        {
            if (exchange.IsPreflight)
            {
                exchange.Respond(Refused(exchange, "This origin may not make cross-origin requests here."));
                return Stop;
            }

            return Next;
        }

        if (!exchange.IsPreflight)
        {
            exchange.CorsOrigin = origin;
            return Next;
        }

        // Every route the real request could reach must allow it: a preflight that one route would approve must not
        // open another that shares its path and differs only by header conditions.
        var method = headers[HeaderNames.AccessControlRequestMethod].ToString();
        var asked = headers[HeaderNames.AccessControlRequestHeaders].ToString();
        var routes = exchange.PreflightRoutes;
        if (routes is not { Count: > 0 })
        {
            exchange.Respond(Refused(exchange, $"Cross-origin {method} requests are not allowed here."));
            return Stop;
        }

        foreach (var route in routes)
        {
            if (route.Policy<CorsPolicy>() is not { } each || !each.Allows(origin) || !each.AllowsMethod(method))
            {
                exchange.Respond(Refused(exchange, $"Cross-origin {method} requests are not allowed here."));
                return Stop;
            }

            if (!each.AllowsHeaders(asked))
            {
                exchange.Respond(Refused(exchange, "A header this preflight asks for is not allowed here."));
                return Stop;
            }
        }

        exchange.CorsOrigin = origin;
        exchange.Respond(new Answer(StatusCodes.Status204NoContent, ReadOnlyMemory<byte>.Empty, null)
        {
            Reason = AnswerReasons.CorsPreflight,
            Detail = "a CORS preflight, answered by the gateway (never forwarded)",
        });
        return Stop;
    }

    private static Answer Refused(Exchange exchange, string detail) =>
        Problems.Create(exchange, StatusCodes.Status403Forbidden, AnswerReasons.CorsRefused, "urn:gateway:problem:cors-refused", "Forbidden", detail);

    protected override void Response(Exchange exchange, CorsPolicy policy)
    {
        var response = exchange.Client.ResponseHeaders;
        RemoveBackendCors(response);
        VaryHeader.Add(response, HeaderNames.Origin);
        if (exchange.CorsOrigin is not { } origin)
        {
            return;
        }

        // Credentials only when every policy involved allows them (for a preflight, that of each route it covers).
        var credentials = policy.AllowCredentials;
        var anyOrigin = policy.AnyOrigin;
        if (exchange.IsPreflight && exchange.PreflightRoutes is { } routes)
        {
            foreach (var route in routes)
            {
                var each = route.Policy<CorsPolicy>()!;
                credentials &= each.AllowCredentials;
                anyOrigin &= each.AnyOrigin;
            }
        }

        response[HeaderNames.AccessControlAllowOrigin] = anyOrigin && !credentials ? "*" : origin;
        if (credentials)
        {
            response[HeaderNames.AccessControlAllowCredentials] = "true";
        }

        if (!exchange.IsPreflight)
        {
            if (policy.ExposedHeaders is { } exposed)
            {
                response[HeaderNames.AccessControlExposeHeaders] = exposed;
            }

            return;
        }

        // The preflight's own answer: the method and the headers asked for, once every route allowed them (a literal
        // '*' is no wildcard to a browser sending credentials), and how long the browser may remember it.
        var request = exchange.RequestHeaders;
        response[HeaderNames.AccessControlAllowMethods] = request[HeaderNames.AccessControlRequestMethod].ToString();
        if (CorsPolicy.HeaderList(request[HeaderNames.AccessControlRequestHeaders].ToString()) is { Length: > 0 } names)
        {
            response[HeaderNames.AccessControlAllowHeaders] = names;
        }

        if (policy.MaxAge is { } maxAge)
        {
            response[HeaderNames.AccessControlMaxAge] = maxAge;
        }

        VaryHeader.Add(response, HeaderNames.AccessControlRequestMethod);
        VaryHeader.Add(response, HeaderNames.AccessControlRequestHeaders);
    }

    /// <summary>Every <c>Access-Control-*</c> header the backend sent: on a route with a CORS policy the gateway says these.</summary>
    private static void RemoveBackendCors(IHeaderDictionary response)
    {
        List<string>? found = null;
        foreach (var (name, _) in response)
        {
            if (name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase))
            {
                (found ??= []).Add(name);
            }
        }

        if (found is not null)
        {
            foreach (var name in found)
            {
                response.Remove(name);
            }
        }
    }

    protected override string? Describe(CorsPolicy policy) =>
        $"cors({(policy.Global ? "global, " : "")}{(policy.AnyOrigin ? "any origin" : "listed origins")}{(policy.AllowCredentials ? ", credentials" : "")})";
}
