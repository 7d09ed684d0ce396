using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Cors;

/// <summary>
/// Cross-origin resource sharing. Not enforced by this build; without its headers browsers refuse cross-origin reads,
/// so nothing is opened that was meant to stay closed.
/// </summary>
internal sealed class CorsFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CorsValidator.Validate(config, diagnostics);

    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("cors", "no CORS headers are added, so browsers keep refusing cross-origin reads", c => c.Cors is not null, r => r.Cors is not null),
    ];
}
