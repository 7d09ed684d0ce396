using System.Text.Json;

namespace Gateway.Configuration;

/// <summary>What changed between two configs: routes by id, backends by URL.</summary>
internal sealed record ConfigDiff(
    IReadOnlyList<string> RoutesAdded,
    IReadOnlyList<string> RoutesRemoved,
    IReadOnlyList<string> RoutesChanged,
    IReadOnlyList<string> BackendsAdded,
    IReadOnlyList<string> BackendsRemoved)
{
    public bool IsEmpty => RoutesAdded.Count + RoutesRemoved.Count + RoutesChanged.Count + BackendsAdded.Count + BackendsRemoved.Count == 0;

    public static ConfigDiff Between(GatewayConfig before, GatewayConfig after)
    {
        var old = Routes(before);
        var now = Routes(after);
        var oldBackends = Backends(before);
        var newBackends = Backends(after);
        return new ConfigDiff(
            [.. now.Keys.Where(id => !old.ContainsKey(id)).Order(StringComparer.Ordinal)],
            [.. old.Keys.Where(id => !now.ContainsKey(id)).Order(StringComparer.Ordinal)],
            [.. now.Where(pair => old.TryGetValue(pair.Key, out var was) && was != pair.Value).Select(pair => pair.Key).Order(StringComparer.Ordinal)],
            [.. newBackends.Where(b => !oldBackends.Contains(b)).Order(StringComparer.Ordinal)],
            [.. oldBackends.Where(b => !newBackends.Contains(b)).Order(StringComparer.Ordinal)]);
    }

    /// <summary>One line for the log: <c>routes +1 -0 ~2 (added a; changed b, c), backends +0 -1 (removed http://x)</c>.</summary>
    public string Describe()
    {
        if (IsEmpty)
        {
            return "no route or backend changed";
        }

        return $"routes +{RoutesAdded.Count} -{RoutesRemoved.Count} ~{RoutesChanged.Count}{Names(("added", RoutesAdded), ("removed", RoutesRemoved), ("changed", RoutesChanged))}, "
            + $"backends +{BackendsAdded.Count} -{BackendsRemoved.Count}{Names(("added", BackendsAdded), ("removed", BackendsRemoved))}";
    }

    private static string Names(params (string What, IReadOnlyList<string> Items)[] groups)
    {
        var parts = groups.Where(g => g.Items.Count > 0).Select(g => g.What + " " + string.Join(", ", g.Items.Take(10)) + (g.Items.Count > 10 ? ", ..." : "")).ToList();
        return parts.Count == 0 ? "" : " (" + string.Join("; ", parts) + ")";
    }

    /// <summary>Each route's settings in a canonical form, by id (structural comparison of the records).</summary>
    private static Dictionary<string, string> Routes(GatewayConfig config)
    {
        var ids = RouteIds.Assign(config.Routes);
        var routes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < ids.Length; i++)
        {
            routes[ids[i]] = JsonSerializer.Serialize(config.Routes[i]);
        }

        return routes;
    }

    private static HashSet<string> Backends(GatewayConfig config)
    {
        var urls = new HashSet<string>(StringComparer.Ordinal);
        foreach (var route in config.Routes)
        {
            if (route.Backend is { } single && Uri.TryCreate(single, UriKind.Absolute, out var url))
            {
                urls.Add(Forwarding.Backend.NameOf(url));
            }

            foreach (var backend in route.Backends ?? [])
            {
                if (Uri.TryCreate(backend.Url, UriKind.Absolute, out var each))
                {
                    urls.Add(Forwarding.Backend.NameOf(each));
                }
            }
        }

        return urls;
    }
}

/// <summary>Keys a running gateway cannot change without a restart: its listeners and how it logs.</summary>
internal static class RestartOnlyKeys
{
    /// <summary>The keys whose values differ between the running config and a new one (empty when a reload can apply it).</summary>
    public static List<string> Changed(GatewayConfig running, GatewayConfig next)
    {
        var changed = new List<string>();
        Compare(changed, "server.host", running.Server.Host, next.Server.Host);
        Compare(changed, "server.port", running.Server.Port, next.Server.Port);
        Compare(changed, "server.http2", running.Server.Http2, next.Server.Http2);
        Compare(changed, "server.http1_codec", running.Server.Http1Codec, next.Server.Http1Codec);
        Compare(changed, "server.limits", running.Server.Limits, next.Server.Limits);
        Compare(changed, "server.connect_timeout_secs", running.Server.ConnectTimeoutSecs, next.Server.ConnectTimeoutSecs);
        Compare(changed, "admin", running.Admin, next.Admin);
        Compare(changed, "logging.level", running.Logging.Level, next.Logging.Level);
        Compare(changed, "logging.format", running.Logging.Format, next.Logging.Format);
        Compare(changed, "tls", running.Tls, next.Tls);
        return changed;
    }

    private static void Compare<T>(List<string> changed, string key, T running, T next)
    {
        if (JsonSerializer.Serialize(running) != JsonSerializer.Serialize(next))
        {
            changed.Add(key);
        }
    }
}
