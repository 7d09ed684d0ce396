using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Routing;

/// <summary>Normalizes the path and finds the route: 400 for refused paths, 404, 405 with Allow.</summary>
internal sealed class RouteMatchMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<GatewayRequestFeature>();
        var rawTarget = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var resolution = RouteResolver.Resolve(feature.Config, context.Request, rawTarget);
        feature.Path = resolution.Target.Path;
        feature.Query = resolution.Target.Query;
        feature.Route = resolution.Route;
        return resolution.Status switch
        {
            StatusCodes.Status200OK => next(context),
            StatusCodes.Status404NotFound => Problems.NotFound(context),
            StatusCodes.Status405MethodNotAllowed => Problems.MethodNotAllowed(context, resolution.Allow!),
            StatusCodes.Status503ServiceUnavailable => Problems.WriteAsync(context, resolution.Status, "urn:gateway:problem:route-unavailable",
                "Service Unavailable", resolution.Detail!),
            _ => Problems.BadRequest(context, resolution.Detail!),
        };
    }
}
