using Gateway.Health;
using Gateway.Resilience;

namespace Gateway.Forwarding;

/// <summary>
/// One upstream server of a route: its address (the URL's path is a prefix for every forwarded path), and its
/// live state: health, circuit breaker, requests in flight.
/// </summary>
internal sealed class Backend
{
    private int _inFlight;
    private long _requests;
    private long _errors;

    public Backend(string url, int weight, BackendHealth health, CircuitBreaker? breaker)
    {
        var uri = new Uri(url, UriKind.Absolute);
        Url = uri;
        Weight = weight;
        Prefix = NameOf(uri);
        PathPrefix = uri.AbsolutePath.TrimEnd('/');
        // Punycode for international names; IPv6 literals keep their brackets.
        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        HostHeader = uri.IsDefaultPort ? host : host + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Name = Prefix;
        Health = health;
        Breaker = breaker;
    }

    /// <summary>The name (and forwarding prefix) of a backend URL.</summary>
    public static string NameOf(Uri url) => url.GetLeftPart(UriPartial.Authority) + url.AbsolutePath.TrimEnd('/');

    public Uri Url { get; }

    /// <summary>scheme://host:port plus the URL's own path without a trailing slash.</summary>
    public string Prefix { get; }

    /// <summary>How the backend is named in logs, metrics and the admin API.</summary>
    public string Name { get; }

    /// <summary>The URL's own path without a trailing slash (empty for most backends): it goes before every forwarded path.</summary>
    public string PathPrefix { get; }

    /// <summary>The Host header the backend receives (unless the route preserves the client's).</summary>
    public string HostHeader { get; }

    /// <summary>The HTTP/1.1 connection pool for this backend's host and port, looked up on first use.</summary>
    public Http1.Http1Endpoint? Http1Endpoint { get; set; }

    public int Weight { get; }

    public BackendHealth Health { get; }

    public CircuitBreaker? Breaker { get; }

    public int InFlight => Volatile.Read(ref _inFlight);

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Healthy, and its breaker would let a request through.</summary>
    public bool Available => Health.IsAvailable && (Breaker?.CanAttempt() ?? true);

    public void Started()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _requests);
    }

    public void Finished(bool success)
    {
        Interlocked.Decrement(ref _inFlight);
        if (!success)
        {
            Interlocked.Increment(ref _errors);
        }
    }
}
