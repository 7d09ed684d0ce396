using Gateway.Configuration;
using Gateway.Pipeline;

namespace Gateway.Caching;

/// <summary>Response caching. Not enforced by this build: responses are not cached (every request reaches a backend).</summary>
internal sealed class CacheFeature : Feature
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CacheValidator.Validate(config, diagnostics);

    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("cache", "responses are not cached; every request reaches a backend", c => c.Cache is { Enabled: true }, r => r.Cache is { Enabled: true }),
    ];
}
