namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public TlsConfig? Tls { get; init; }
}

/// <summary>TLS on the public listener (the earlier gateway's keys, then this build's extensions).</summary>
internal sealed record TlsConfig
{
    /// <summary>The default certificate: PEM (with <see cref="KeyPath"/>) or PKCS#12 (<c>.p12</c>/<c>.pfx</c>, key inside).</summary>
    public string? CertPath { get; init; }
    public string? KeyPath { get; init; }
    public bool EnableMtls { get; init; }
    public string? CaCertPath { get; init; }
    public bool RequireClientCert { get; init; }

    /// <summary>Certificates chosen by the client's SNI host name; the default one answers every other name.</summary>
    public List<TlsCertificateConfig>? Certificates { get; init; }

    /// <summary>The password of PKCS#12 files (none by default).</summary>
    [Secret] public string? CertPassword { get; init; }

    /// <summary>A PEM or DER certificate revocation list issued by the client CA; client certificates it lists are refused.</summary>
    public string? CrlPath { get; init; }

    /// <summary>How often the certificate, key, CA and CRL files are read again to notice a change (0: never).</summary>
    public double ReloadIntervalSecs { get; init; } = 5;

    /// <summary>A plain-HTTP listener that sends every request to the https listener (absent: none).</summary>
    public HttpRedirectConfig? RedirectHttp { get; init; }
}

/// <summary>The HTTP-to-HTTPS redirect listener: it answers on <c>server.host:port</c> with a redirect to <c>https://host</c>.</summary>
internal sealed record HttpRedirectConfig
{
    public int Port { get; init; } = 80;

    /// <summary>The public host name the redirect names (never the request's Host, which the client chooses).</summary>
    public string Host { get; init; } = "";

    /// <summary>The port in the redirect (default: server.port; 443 is left out of the URL).</summary>
    public int? HttpsPort { get; init; }
}

/// <summary>A certificate for some host names (exact, or <c>*.example.com</c> for one label).</summary>
internal sealed record TlsCertificateConfig
{
    public List<string> Hosts { get; init; } = [];
    public string CertPath { get; init; } = "";
    public string KeyPath { get; init; } = "";
}
