using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Gateway.Configuration;

namespace Gateway.Tls;

/// <summary>
/// A route's <c>tls_upstream</c>, compiled: the CA and client certificate loaded once, and the client options of
/// the HttpClient pool that reaches its backends (shared by every route with the same settings, see <see cref="Key"/>).
/// </summary>
internal sealed class UpstreamTls
{
    private readonly UpstreamTlsConfig _config;
    private readonly X509Certificate2Collection? _authorities;
    private readonly X509Certificate2? _client;

    public UpstreamTls(UpstreamTlsConfig config)
    {
        _config = config;
        Key = JsonSerializer.Serialize(config);
        if (config.CaPath is { } ca)
        {
            _authorities = CertificateFiles.TryLoadCertificates(ca, out var error)
                ?? throw new InvalidOperationException($"tls_upstream.ca_path: cannot load '{ca}': {error}");
        }

        if (config.ClientCertPath is { } cert)
        {
            _client = CertificateFiles.TryLoadServer(cert, config.ClientKeyPath, null, out var error)?.Leaf
                ?? throw new InvalidOperationException($"tls_upstream.client_cert_path: cannot load '{cert}': {error}");
        }
    }

    /// <summary>Identifies the settings (and so the connection pool): equal settings share one.</summary>
    public string Key { get; }

    public SslClientAuthenticationOptions ClientOptions()
    {
        var options = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = Verify,
        };
        if (_client is { } client)
        {
            options.ClientCertificates = [client];
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => client;
        }

        return options;
    }

    private bool Verify(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        _ = sender;
        if (_config.InsecureSkipVerify)
        {
            return true;
        }

        if (certificate is null)
        {
            return false;
        }

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var nameOk = _config.ServerName is { } name ? leaf.MatchesHostname(name) : (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
        if (!nameOk)
        {
            return false;
        }

        if (_authorities is null)
        {
            return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            for (var i = 1; i < presented.ChainElements.Count; i++)
            {
                chain.ChainPolicy.ExtraStore.Add(presented.ChainElements[i].Certificate);
            }
        }

        return chain.Build(leaf);
    }
}
