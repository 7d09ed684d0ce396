namespace Gateway.Configuration;

internal sealed partial record RouteConfig
{
    /// <summary>How the route's <c>https</c> backends are verified and what the gateway presents to them.</summary>
    public UpstreamTlsConfig? TlsUpstream { get; init; }
}

/// <summary>TLS to backends: a CA of their own (instead of the system store), a client certificate, the name to verify.</summary>
internal sealed record UpstreamTlsConfig
{
    /// <summary>PEM file of the CAs the backends' certificates must chain to; unset: the system store.</summary>
    public string? CaPath { get; init; }
    public string? ClientCertPath { get; init; }
    public string? ClientKeyPath { get; init; }

    /// <summary>The name the backend's certificate must carry (default: the backend URL's host).</summary>
    public string? ServerName { get; init; }

    /// <summary>Accept any certificate from the backend. For a test bench only: warned loudly at start and by <c>validate</c>.</summary>
    public bool InsecureSkipVerify { get; init; }
}
