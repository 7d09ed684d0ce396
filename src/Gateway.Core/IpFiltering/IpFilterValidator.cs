using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.IpFiltering;

/// <summary>IP filters, globally and per route.</summary>
internal static class IpFilterValidator
{
    private static readonly string[] Actions = KnownValuesAttribute.Of<IpFilterConfig>(nameof(IpFilterConfig.DefaultAction));

    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        IpFilter(d, "ip_filter", config.IpFilter);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            IpFilter(d, $"routes[{i}].ip_filter", config.Routes[i].IpFilter);
            if (config.IpFilter is { } global && config.Routes[i].IpFilter is { } own)
            {
                WarnIfReopened(d, $"routes[{i}].ip_filter", global, own);
            }
        }
    }

    /// <summary>
    /// A route's filter replaces the global one: a globally blacklisted network that the route's filter lets in again
    /// (its default allows, or its whitelist overlaps it) is said, since that is rarely meant.
    /// </summary>
    private static void WarnIfReopened(ConfigDiagnostics d, string path, IpFilterConfig global, IpFilterConfig own)
    {
        var blocked = Networks(own.Blacklist);
        var allowed = Networks(own.Whitelist);
        var reopened = new List<string>();
        foreach (var text in global.Blacklist)
        {
            if (!ValidationRules.TryParseNetwork(text, out var parsed, out _) || blocked.Any(b => Covers(b, AsFiltered(parsed))))
            {
                continue;
            }

            var network = AsFiltered(parsed);

            if (own.DefaultAction != "deny" || allowed.Any(a => Covers(a, network) || Covers(network, a)))
            {
                reopened.Add(text);
            }
        }

        if (reopened.Count > 0)
        {
            d.Warning(path, $"replaces the global ip_filter and lets in what its blacklist refuses ({string.Join(", ", reopened.Take(3))}"
                + (reopened.Count > 3 ? $" and {reopened.Count - 3} more" : "") + "); repeat those entries in this route's blacklist if they should stay out");
        }
    }

    private static List<System.Net.IPNetwork> Networks(List<string> texts) =>
        [.. texts.Select(t => ValidationRules.TryParseNetwork(t, out var n, out _) ? AsFiltered(n) : (System.Net.IPNetwork?)null).OfType<System.Net.IPNetwork>()];

    /// <summary>A network as the filter holds it: IPv4-mapped IPv6 of /96 or longer is the IPv4 network it maps.</summary>
    private static System.Net.IPNetwork AsFiltered(System.Net.IPNetwork network) =>
        network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96
            ? new System.Net.IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96)
            : network;

    /// <summary>Whether <paramref name="outer"/> holds every address of <paramref name="inner"/> (same family only).</summary>
    private static bool Covers(System.Net.IPNetwork outer, System.Net.IPNetwork inner) =>
        outer.BaseAddress.AddressFamily == inner.BaseAddress.AddressFamily && outer.PrefixLength <= inner.PrefixLength && outer.Contains(inner.BaseAddress);

    private static void IpFilter(ConfigDiagnostics d, string path, IpFilterConfig? filter)
    {
        if (filter is null)
        {
            return;
        }

        for (var i = 0; i < filter.Whitelist.Count; i++)
        {
            ValidationRules.Network(d, $"{path}.whitelist[{i}]", filter.Whitelist[i]);
        }

        for (var i = 0; i < filter.Blacklist.Count; i++)
        {
            ValidationRules.Network(d, $"{path}.blacklist[{i}]", filter.Blacklist[i]);
        }

        ValidationRules.OneOf(d, path + ".default_action", filter.DefaultAction, Actions);
        if (filter.DefaultAction == "allow" && filter.Whitelist.Count > 0 && filter.Blacklist.Count == 0)
        {
            d.Warning(path, "has a whitelist but default_action allow, so every address is allowed anyway; set default_action: deny");
        }
    }
}
