using System.Collections.Frozen;
using System.Net;
using Gateway.Routing;

namespace Gateway.Configuration;

/// <summary>
/// An immutable, fully compiled configuration: what a request reads while it runs. A reload builds a new one and
/// swaps it in; requests keep the snapshot they started with. It refers to live state (backends, counters,
/// caches) and owns none of it.
/// </summary>
internal sealed class RuntimeConfig
{
    public required GatewayConfig Source { get; init; }

    public required long Version { get; init; }

    public required DateTimeOffset LoadedAt { get; init; }

    public required CompiledRoute[] Routes { get; init; }

    public required RouteMatcher Matcher { get; init; }

    public required IPNetwork[] TrustedProxies { get; init; }

    /// <summary>Headers about the client's address and the URL it used (X-Real-IP, X-Forwarded-Prefix and kin): forwarded only from trusted proxies.</summary>
    public required FrozenSet<string> ProxyOnlyHeaders { get; init; }

    /// <summary>Largest request body in bytes, or null for no limit.</summary>
    public long? MaxRequestBodySize { get; init; }

    /// <summary>The policy of each request stage (indexed like <see cref="Pipeline.GatewayFeatures.Stages"/>; null where a stage is not).</summary>
    public required object?[] StagePolicies { get; init; }

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

    /// <summary>The request-stage policy of a type (tools and tests; requests get theirs from the runner).</summary>
    public T? Policy<T>()
        where T : class
    {
        foreach (var policy in StagePolicies)
        {
            if (policy is T match)
            {
                return match;
            }
        }

        return null;
    }
}
