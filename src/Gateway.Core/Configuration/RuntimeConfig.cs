using System.Net;
using Gateway.Routing;

namespace Gateway.Configuration;

/// <summary>
/// An immutable, fully compiled configuration: what a request reads while it runs. A reload builds a new
/// one and swaps it in; requests keep the snapshot they started with.
/// </summary>
internal sealed class RuntimeConfig : IAsyncDisposable
{
    public required GatewayConfig Source { get; init; }

    public required long Version { get; init; }

    public required DateTimeOffset LoadedAt { get; init; }

    public required CompiledRoute[] Routes { get; init; }

    public required RouteMatcher Matcher { get; init; }

    public required IPNetwork[] TrustedProxies { get; init; }

    /// <summary>Largest request body in bytes, or null for no limit.</summary>
    public long? MaxRequestBodySize { get; init; }

    /// <summary>The authenticators (and the identity headers the gateway owns).</summary>
    public required Authentication.AuthServices Auth { get; init; }

    /// <summary>Configured features that this build does not enforce yet, one message each.</summary>
    public required IReadOnlyList<string> NotEnforced { get; init; }

    /// <summary>The rate limiter (in memory, or shared through Redis).</summary>
    public required RateLimiting.RateLimiter RateLimiter { get; init; }

    public async ValueTask DisposeAsync()
    {
        await Auth.DisposeAsync().ConfigureAwait(false);
        await RateLimiter.DisposeAsync().ConfigureAwait(false);
    }

    public bool IsTrustedProxy(IPAddress address)
    {
        foreach (var network in TrustedProxies)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
