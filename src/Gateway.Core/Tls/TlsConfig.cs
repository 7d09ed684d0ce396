namespace Gateway.Configuration;

internal sealed partial record GatewayConfig
{
    public TlsConfig? Tls { get; init; }
}

internal sealed record TlsConfig
{
    public string? CertPath { get; init; }
    public string? KeyPath { get; init; }
    public bool EnableMtls { get; init; }
    public string? CaCertPath { get; init; }
    public bool RequireClientCert { get; init; }
    public List<TlsCertificateConfig>? Certificates { get; init; }
}

internal sealed record TlsCertificateConfig
{
    public List<string> Hosts { get; init; } = [];
    public string CertPath { get; init; } = "";
    public string KeyPath { get; init; } = "";
}
