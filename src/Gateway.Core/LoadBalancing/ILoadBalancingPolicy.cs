using System.Net;
using Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.LoadBalancing;

/// <summary>What a strategy may look at to choose: the client and its request headers.</summary>
internal readonly record struct BalancingInput(IHeaderDictionary Headers, IPAddress? Client);

/// <summary>
/// One load-balancing strategy (<c>load_balancer.strategy</c>). An instance belongs to one backend group and keeps
/// that group's state (a rotation counter, current weights, a hash ring); it is made once when the config is compiled.
/// </summary>
internal interface ILoadBalancingPolicy
{
    /// <summary>Picks one of <paramref name="candidates"/> (indexes into the group, at least two of them).</summary>
    int Pick(BackendGroup group, ReadOnlySpan<int> candidates, in BalancingInput input);
}

/// <summary>The strategies by their config names.</summary>
internal static class LoadBalancingPolicies
{
    public static readonly string[] Names = KnownValuesAttribute.Of<LoadBalancerConfig>(nameof(LoadBalancerConfig.Strategy));

    public static ILoadBalancingPolicy Create(string strategy, string? hashOn, IReadOnlyList<string> names, IReadOnlyList<int> weights) => strategy switch
    {
        "weighted" => new SmoothWeightedPolicy(weights.Count),
        "least_connections" => new LeastConnectionsPolicy(),
        "random" => new WeightedRandomPolicy(),
        "power_of_two" => new PowerOfTwoPolicy(),
        "ip_hash" => new IpHashPolicy(),
        "consistent_hash" => new ConsistentHashPolicy(hashOn ?? "ip", names, weights),
        _ => new RoundRobinPolicy(),
    };
}
