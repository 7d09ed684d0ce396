using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Routing;

namespace Gateway.IpFiltering;

/// <summary>
/// IP allow and deny lists. Not enforced by this build: a filter protects, so every route it covers (its own, or the
/// global one it inherits) fails closed with 503 rather than serve everyone.
/// </summary>
internal sealed class IpFilterFeature : Feature
{
    private static readonly RouteUnavailable Unavailable =
        RouteUnavailable.Feature("ip_filter", "this route has an IP filter, which this gateway version does not enforce yet");

    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => IpFilterValidator.Validate(config, diagnostics);

    public override void ReportNotEnforced(GatewayConfig config, IReadOnlyList<string> routeIds, List<string> messages)
    {
        if (config.IpFilter is not null)
        {
            messages.Add("ip_filter is not enforced yet: every route answers 503 until it is");
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].IpFilter is not null)
            {
                messages.Add($"ip_filter on route {routeIds[i]} ({config.Routes[i].Path}) is not enforced yet: the route answers 503 until it is");
            }
        }
    }

    public override RouteUnavailable? UnavailableReason(GatewayConfig config, RouteConfig route) =>
        route.IpFilter is not null || config.IpFilter is not null ? Unavailable : null;
}
