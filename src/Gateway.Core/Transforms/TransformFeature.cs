using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Routing;

namespace Gateway.Transforms;

/// <summary>
/// Request and response transforms. Not enforced by this build. A transform is part of what the backend and the
/// client are promised (a header removed or overwritten, a path rewritten, a security header added), so a route
/// with one fails closed with 503 rather than forward requests and responses other than the config describes.
/// </summary>
internal sealed class TransformFeature : Feature
{
    private static readonly RouteUnavailable Unavailable =
        RouteUnavailable.Feature("transform", "this route transforms requests or responses, which this gateway version does not enforce yet");

    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => TransformValidator.Validate(config, diagnostics);

    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("transform", "the route answers 503 until it is, instead of forwarding untransformed requests and responses", null, Transforms),
    ];

    public override RouteUnavailable? UnavailableReason(GatewayConfig config, RouteConfig route) => Transforms(route) ? Unavailable : null;

    private static bool Transforms(RouteConfig route) =>
        route.Transform is { } transform && (Transforms(transform.Request) || Transforms(transform.Response));

    private static bool Transforms(RequestTransformConfig? request) =>
        request is not null && (request.AddHeaders is { Count: > 0 } || request.SetHeaders is { Count: > 0 } || request.RemoveHeaders is { Count: > 0 }
            || request.PathRewrites is { Count: > 0 } || request.QueryParams is { Add.Count: > 0 } or { Set.Count: > 0 } or { Remove.Count: > 0 });

    private static bool Transforms(ResponseTransformConfig? response) =>
        response is not null && (response.AddHeaders is { Count: > 0 } || response.SetHeaders is { Count: > 0 } || response.RemoveHeaders is { Count: > 0 });
}
