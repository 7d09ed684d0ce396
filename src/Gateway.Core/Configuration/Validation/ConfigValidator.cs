using System.Text;
using Gateway.Pipeline;

namespace Gateway.Configuration;

/// <summary>Runs every feature's validator; each appends its problems, none stops the others.</summary>
internal static class ConfigValidator
{
    /// <summary>How many routes a "not enforced yet" warning names before it says how many more there are.</summary>
    private const int RoutesNamed = 3;

    public static void Validate(GatewayConfig config, ConfigDiagnostics d, string baseDirectory)
    {
        foreach (var feature in GatewayFeatures.All)
        {
            feature.Validate(config, d, baseDirectory);
        }

        foreach (var feature in GatewayFeatures.All)
        {
            foreach (var key in feature.NotEnforced)
            {
                WarnNotEnforced(config, d, key);
            }
        }
    }

    /// <summary>
    /// One warning per key that this build does not enforce: at the top-level key when it is set there, else at the
    /// first route that sets it, naming the routes that set it themselves.
    /// </summary>
    private static void WarnNotEnforced(GatewayConfig config, ConfigDiagnostics d, UnenforcedKey key)
    {
        var global = key.IsSet?.Invoke(config) == true;
        var first = -1;
        var count = 0;
        var named = new StringBuilder();
        if (key.OnRoute is not null)
        {
            for (var i = 0; i < config.Routes.Count; i++)
            {
                if (!key.OnRoute(config.Routes[i]))
                {
                    continue;
                }

                if (count == 0)
                {
                    first = i;
                }

                if (count < RoutesNamed)
                {
                    named.Append(count == 0 ? "" : ", ").Append("routes[").Append(i).Append("] (").Append(config.Routes[i].Path).Append(')');
                }

                count++;
            }
        }

        if (!global && count == 0)
        {
            return;
        }

        if (count > RoutesNamed)
        {
            named.Append(" and ").Append(count - RoutesNamed).Append(" more");
        }

        var where = count == 0 ? "" : (global ? "; also set on " : "; set on ") + named;
        d.Warning(global ? key.Key : $"routes[{first}].{key.Key}", $"not enforced yet: {key.Consequence}{where}");
    }
}
