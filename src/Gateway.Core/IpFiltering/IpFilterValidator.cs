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
        }
    }

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
