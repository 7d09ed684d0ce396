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

    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("ip_filter", "every route it covers answers 503 until it is", c => c.IpFilter is not null, r => r.IpFilter is not null),
    ];

    public override RouteUnavailable? UnavailableReason(GatewayConfig config, RouteConfig route) =>
        route.IpFilter is not null || config.IpFilter is not null ? Unavailable : null;
}
