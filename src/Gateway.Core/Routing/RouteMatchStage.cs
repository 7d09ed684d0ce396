using Gateway.Configuration;
using Gateway.Configuration.Validation;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Routing;

/// <summary>Normalizes the path and finds the route: 400 for refused paths, 404, 405 with <c>Allow</c>, 503 for a route that cannot serve safely.</summary>
internal sealed class RouteMatchStage : Stage<RouteMatcher>
{
    public override StageScope Scope => StageScope.Request;

    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => RouteValidator.Validate(config, diagnostics);

    protected override RouteMatcher? CompilePolicy(StageCompilation compilation) => compilation.Matcher;

    protected override ValueTask<bool> Request(Exchange exchange, RouteMatcher policy)
    {
        var resolution = RouteResolver.Resolve(exchange.Config, exchange);
        exchange.Route = resolution.Route;
        if (resolution.Status == StatusCodes.Status200OK)
        {
            return Next;
        }

        exchange.Respond(resolution.Status switch
        {
            StatusCodes.Status404NotFound => Problems.NotFound(exchange),
            StatusCodes.Status405MethodNotAllowed => Problems.MethodNotAllowed(exchange, resolution.Allow!, resolution.Detail!),
            StatusCodes.Status503ServiceUnavailable => Problems.Create(exchange, resolution.Status, resolution.Unavailable!.Reason,
                "urn:gateway:problem:route-unavailable", "Service Unavailable", resolution.Detail!),
            _ => Problems.BadRequest(exchange, AnswerReasons.BadPath, resolution.Detail!),
        });
        return Stop;
    }
}
