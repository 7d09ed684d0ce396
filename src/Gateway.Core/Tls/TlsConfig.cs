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
}

/// <summary>A certificate for some host names (exact, or <c>*.example.com</c> for one label).</summary>
internal sealed record TlsCertificateConfig
{
    public List<string> Hosts { get; init; } = [];
    public string CertPath { get; init; } = "";
    public string KeyPath { get; init; } = "";
}
