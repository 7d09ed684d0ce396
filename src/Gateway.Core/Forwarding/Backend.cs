using Gateway.Configuration;
using Gateway.Health;
using Gateway.Resilience;

namespace Gateway.Forwarding;

/// <summary>
/// What identifies a backend's live state: the route, the backend's address and the settings that shape that state.
/// Each route has its own (so failures one route causes never shut another route's traffic to the same server), and a
/// reload that changes none of these keeps it as it is. Connections are pooled by host and port across routes.
/// </summary>
internal readonly record struct BackendKey(string Route, string Name, HealthCheckConfig? Health, CircuitBreakerConfig? Breaker);

/// <summary>
/// One upstream server and its live state for the life of the process: health, circuit breaker, requests in
/// flight, and the HTTP/1.1 connections to it. Its URL's path is a prefix for every forwarded path.
/// </summary>
internal sealed class Backend
{
    private int _inFlight;
    private long _requests;
    private long _errors;

    public Backend(string url, BackendHealth health, CircuitBreaker? breaker, Http1.Http1Endpoint? endpoint = null)
    {
        var uri = new Uri(url, UriKind.Absolute);
        Url = uri;
        Prefix = NameOf(uri);
        PathPrefix = uri.AbsolutePath.TrimEnd('/');
        // Punycode for international names; IPv6 literals keep their brackets.
        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        HostHeader = uri.IsDefaultPort ? host : host + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Name = Prefix;
        Health = health;
        Breaker = breaker;
        Http1Endpoint = endpoint;
    }

    /// <summary>The name (and forwarding prefix) of a backend URL.</summary>
    public static string NameOf(Uri url) => url.GetLeftPart(UriPartial.Authority) + url.AbsolutePath.TrimEnd('/');

    public Uri Url { get; }

    /// <summary>scheme://host:port plus the URL's own path without a trailing slash.</summary>
    public string Prefix { get; }

    /// <summary>How the backend is named in logs, metrics and the admin API.</summary>
    public string Name { get; }

    /// <summary>The route this backend serves (a URL named by two routes is two backends, each with its own breaker).</summary>
    public string Route { get; init; } = "";

    /// <summary>The URL's own path without a trailing slash (empty for most backends): it goes before every forwarded path.</summary>
    public string PathPrefix { get; }

    /// <summary>The Host header the backend receives (unless the route preserves the client's).</summary>
    public string HostHeader { get; }

    /// <summary>The idle HTTP/1.1 connections to this backend's host and port (null when the own client is off or the URL is https).</summary>
    public Http1.Http1Endpoint? Http1Endpoint { get; }

    public BackendHealth Health { get; }

    public CircuitBreaker? Breaker { get; }

    /// <summary>No live snapshot names this backend any more (requests of older snapshots may still finish on it).</summary>
    public bool Retired { get; private set; }

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

    public void Retire() => Retired = true;
}
