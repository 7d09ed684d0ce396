namespace Gateway.Configuration;

/// <summary>
/// Configured features this build parses and validates but does not enforce yet. Each is named once at
/// start-up, never silently ignored; features that guard access make their routes fail closed instead.
/// </summary>
internal static class FeatureSupport
{
    public static IReadOnlyList<string> NotEnforced(GatewayConfig config, IReadOnlyList<string> routeIds)
    {
        var messages = new List<string>();
        if (config.Cors is not null)
        {
            messages.Add("cors is not enforced yet: no CORS headers are added");
        }

        if (config.IpFilter is not null)
        {
            messages.Add("ip_filter is not enforced yet");
        }

        if (config.Cache is { Enabled: true })
        {
            messages.Add("cache is not enforced yet: responses are not cached");
        }

        if (config.Observability?.Metrics is { Enabled: true })
        {
            messages.Add("observability.metrics is not served yet");
        }

        if (config.Observability?.Tracing is { Enabled: true })
        {
            messages.Add("observability.tracing is not exported yet (traceparent is still propagated)");
        }

        if (config.HotReload is { Enabled: true })
        {
            messages.Add("hot_reload is not enforced yet: restart to apply config changes");
        }

        if (config.Tls is not null)
        {
            messages.Add("tls is not supported yet: the gateway refuses to start rather than serve plain HTTP");
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var name = $"route {routeIds[i]} ({route.Path})";
            if (route.Transform is not null)
            {
                messages.Add($"transform on {name} is not enforced yet");
            }

            if (route.Cors is not null)
            {
                messages.Add($"cors on {name} is not enforced yet");
            }

            if (route.IpFilter is not null)
            {
                messages.Add($"ip_filter on {name} is not enforced yet: the route answers 503 until it is");
            }

            if (route.Cache is { Enabled: true })
            {
                messages.Add($"cache on {name} is not enforced yet");
            }

            if (route.Websocket is not null)
            {
                messages.Add($"websocket limits on {name} are not enforced yet");
            }

            if (route.Slo is not null)
            {
                messages.Add($"slo on {name} is not tracked yet");
            }
        }

        return messages;
    }

    /// <summary>Why a route cannot serve safely in this build, or null when it can.</summary>
    public static string? UnavailableReason(RouteConfig route)
    {
        if (route.IpFilter is not null)
        {
            return "this route has an IP filter, which this gateway version does not enforce yet";
        }

        return null;
    }
}
