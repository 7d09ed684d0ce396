namespace Gateway.Forwarding;

/// <summary>One upstream server as configured; its prefix is prepended to every forwarded path.</summary>
internal sealed class Backend
{
    public Backend(string url, int weight)
    {
        var uri = new Uri(url, UriKind.Absolute);
        Url = uri;
        Weight = weight;
        var path = uri.AbsolutePath.TrimEnd('/');
        Prefix = uri.GetLeftPart(UriPartial.Authority) + path;
        Name = Prefix;
    }

    public Uri Url { get; }

    /// <summary>scheme://host:port plus the URL's own path without a trailing slash.</summary>
    public string Prefix { get; }

    /// <summary>How the backend is named in logs, metrics and the admin API.</summary>
    public string Name { get; }

    public int Weight { get; }
}

/// <summary>The backends of one route and how one is chosen for a request.</summary>
internal sealed class BackendGroup(Backend[] backends, string strategy)
{
    private int _next = -1;

    public Backend[] Backends { get; } = backends;

    public string Strategy { get; } = strategy;

    /// <summary>Round robin over the backends (other strategies arrive with load balancing).</summary>
    public Backend Pick()
    {
        if (Backends.Length == 1)
        {
            return Backends[0];
        }

        var next = (uint)Interlocked.Increment(ref _next);
        return Backends[next % (uint)Backends.Length];
    }
}
