using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Routing;

namespace Gateway.Transforms;

/// <summary>
/// Request and response transforms. Not enforced by this build. Removing headers can be protection (an internal
/// header that must not reach a backend or a client), so a route with <c>remove_headers</c> fails closed with 503
/// instead of passing them; the other transforms are reported and skipped.
/// </summary>
internal sealed class TransformFeature : Feature
{
    private static readonly RouteUnavailable Unavailable =
        RouteUnavailable.Feature("transform", "this route removes headers in a transform, which this gateway version does not enforce yet");

    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => TransformValidator.Validate(config, diagnostics);

    public override void ReportNotEnforced(GatewayConfig config, IReadOnlyList<string> routeIds, List<string> messages)
    {
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            if (route.Transform is not null)
            {
                messages.Add($"transform on route {routeIds[i]} ({route.Path}) is not enforced yet"
                    + (RemovesHeaders(route) ? ": the route answers 503 until it is (it removes headers)" : ""));
            }
        }
    }

    public override RouteUnavailable? UnavailableReason(GatewayConfig config, RouteConfig route) => RemovesHeaders(route) ? Unavailable : null;

    private static bool RemovesHeaders(RouteConfig route) =>
        route.Transform?.Request?.RemoveHeaders is { Count: > 0 } || route.Transform?.Response?.RemoveHeaders is { Count: > 0 };
}
