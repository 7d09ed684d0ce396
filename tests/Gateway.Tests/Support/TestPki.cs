using System.Net.Security;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Tests.Support;

/// <summary>
/// A throwaway certificate authority made in the test (ECDSA P-256, fast to generate) with the certificates it
/// issues written as PEM files into a temporary folder, and TLS clients that trust it and nothing else.
/// </summary>
public sealed class TestPki : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private long _serial = 1000;

    private TestPki(string name, string directory)
    {
        Directory = directory;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-365), DateTimeOffset.UtcNow.AddYears(5));
        CaPath = Path.Combine(directory, Slug(name) + "-ca.pem");
        File.WriteAllText(CaPath, Ca.ExportCertificatePem());
    }

    public string Directory { get; }

    /// <summary>The CA, with its key.</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>The CA certificate as a PEM file.</summary>
    public string CaPath { get; }

    public static TestPki Create(string name = "Gateway Test CA", string? directory = null)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "gateway-pki-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        return new TestPki(name, directory);
    }

    /// <summary>A server certificate for these DNS names (and 127.0.0.1), valid from yesterday for a year unless told otherwise.</summary>
    public X509Certificate2 IssueServer(string commonName, string[]? dnsNames = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool loopback = true) =>
        Issue(commonName, ServerAuth, dnsNames ?? [commonName], null, notBefore, notAfter, loopback);

    /// <summary>A client certificate (client authentication), with optional SAN e-mail or URI for the identity.</summary>
    public X509Certificate2 IssueClient(string commonName, string? uri = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null) =>
        Issue(commonName, ClientAuth, [], uri, notBefore, notAfter);

    /// <summary>Writes a certificate and its key as <c>NAME.crt</c> and <c>NAME.key</c> (PEM) in <paramref name="directory"/> (default: the PKI's folder).</summary>
    public (string Cert, string Key) WritePem(X509Certificate2 certificate, string name, string? directory = null)
    {
        directory ??= Directory;
        var cert = Path.Combine(directory, name + ".crt");
        var key = Path.Combine(directory, name + ".key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    /// <summary>A CRL signed by this CA listing the certificates given, as a PEM file.</summary>
    public string WriteCrl(string name, params X509Certificate2[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
        {
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-5));
        }

        var crl = builder.Build(Ca, BigInteger.One, DateTimeOffset.UtcNow.AddDays(7), HashAlgorithmName.SHA256);
        var path = Path.Combine(Directory, name + ".crl");
        File.WriteAllText(path, PemEncoding.WriteString("X509 CRL", crl));
        return path;
    }

    /// <summary>A handler that trusts this CA only (and checks the host name), optionally presenting a client certificate.</summary>
    public SocketsHttpHandler Handler(X509Certificate2? clientCertificate = null, string? targetHost = null)
    {
        var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false };
        handler.SslOptions = ClientOptions(clientCertificate, targetHost);
        return handler;
    }

    /// <summary>Client TLS options that trust this CA only.</summary>
    public SslClientAuthenticationOptions ClientOptions(X509Certificate2? clientCertificate = null, string? targetHost = null)
    {
        var ca = Ca;
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            },
        };
        if (clientCertificate is not null)
        {
            // Always this one: the client's own selection would skip a certificate whose issuer the server did not list.
            options.ClientCertificates = [clientCertificate];
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }

        return options;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private X509Certificate2 Issue(string commonName, Oid usage, string[] dnsNames, string? uri, DateTimeOffset? notBefore, DateTimeOffset? notAfter, bool loopback = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        if (usage.Value == ServerAuth.Value && loopback)
        {
            san.AddIpAddress(System.Net.IPAddress.Loopback);
        }

        if (uri is not null)
        {
            san.AddUri(new Uri(uri));
        }

        request.CertificateExtensions.Add(san.Build());
        // Positive and minimal as DER wants it: a non-zero first byte below 0x80.
        var serial = BitConverter.GetBytes(Interlocked.Increment(ref _serial));
        Array.Reverse(serial);
        serial[0] = 0x40;
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddYears(1);
        using var issued = request.Create(Ca, from, to, serial);
        return issued.CopyWithPrivateKey(key);
    }

    private static string Slug(string name) => new([.. name.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-')]);
}
