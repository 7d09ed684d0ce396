using System.Formats.Asn1;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Configuration;
using Microsoft.Extensions.Logging;

namespace Gateway.Tls;

/// <summary>
/// Which client certificates the listener accepts: a chain to one of the configured CAs (and to nothing else, the
/// system store is not consulted), valid now, usable for client authentication, and not listed in the CRL file.
/// The CA and CRL files are read again on each poll, as the server certificates are.
/// </summary>
internal sealed partial class ClientCertificatePolicy
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly TlsConfig _config;
    private readonly TimeProvider _time;
    private volatile Trust _trust;
    private byte[] _fingerprint;
    private byte[] _failed = [];

    private ClientCertificatePolicy(TlsConfig config, TimeProvider time, Trust trust, byte[] fingerprint)
    {
        _config = config;
        _time = time;
        _trust = trust;
        _fingerprint = fingerprint;
    }

    /// <summary>Whether a handshake without a client certificate is refused.</summary>
    public bool Required => _config.RequireClientCert;

    public static ClientCertificatePolicy? Load(TlsConfig config, TimeProvider time, out string? error)
    {
        var trust = TryRead(config, out error);
        return trust is null ? null : new ClientCertificatePolicy(config, time, trust, CertificateFiles.Fingerprint([config.CaCertPath, config.CrlPath]));
    }

    /// <summary>Reads the CA and CRL files when they changed; true when new ones were taken.</summary>
    public bool Refresh(ILogger logger)
    {
        var now = CertificateFiles.Fingerprint([_config.CaCertPath, _config.CrlPath]);
        if (now.AsSpan().SequenceEqual(_fingerprint) || now.AsSpan().SequenceEqual(_failed))
        {
            return false;
        }

        var trust = TryRead(_config, out var error);
        if (trust is null)
        {
            _failed = now;
            Log.ReloadFailed(logger, error ?? "unknown error");
            return false;
        }

        _trust = trust;
        _fingerprint = now;
        _failed = [];
        Log.Reloaded(logger, trust.Authorities.Count, trust.Revoked.Count);
        return true;
    }

    /// <summary>The handshake's check of the client's certificate (SslStream's validation callback).</summary>
    /// <remarks>The platform's own verdict (<see cref="SslPolicyErrors"/>) is set aside: it judges against the system store.</remarks>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        _ = (sender, errors);
        return certificate is null ? !Required : Check(certificate, presented) is null;
    }

    /// <summary>Why a client certificate is refused, or null when it is accepted.</summary>
    public string? Check(X509Certificate certificate, X509Chain? presented)
    {
        var trust = _trust;
        var owned = certificate as X509Certificate2 is null;
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            using var chain = new X509Chain();
            var policy = chain.ChainPolicy;
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(trust.Authorities);
            policy.RevocationMode = X509RevocationMode.NoCheck;
            policy.ApplicationPolicy.Add(ClientAuthentication);
            policy.VerificationTime = _time.GetUtcNow().UtcDateTime;
            if (presented is not null)
            {
                // The intermediates the client sent with its certificate.
                for (var i = 1; i < presented.ChainElements.Count; i++)
                {
                    policy.ExtraStore.Add(presented.ChainElements[i].Certificate);
                }
            }

            if (!chain.Build(leaf))
            {
                var status = chain.ChainStatus.Length > 0 ? chain.ChainStatus[0].Status.ToString() : "untrusted";
                return "chain: " + status;
            }

            foreach (var element in chain.ChainElements)
            {
                if (trust.Revoked.Contains(Convert.ToHexString(element.Certificate.SerialNumberBytes.Span)))
                {
                    return "revoked";
                }
            }

            return null;
        }
        finally
        {
            if (owned)
            {
                leaf.Dispose();
            }
        }
    }

    private static Trust? TryRead(TlsConfig config, out string? error)
    {
        error = null;
        if (config.CaCertPath is not { } caPath)
        {
            error = "is needed for client certificates (enable_mtls or require_client_cert)";
            return null;
        }

        var authorities = CertificateFiles.TryLoadCertificates(caPath, out error);
        if (authorities is null)
        {
            error = $"cannot load '{caPath}': {error}";
            return null;
        }

        var revoked = new HashSet<string>(StringComparer.Ordinal);
        if (config.CrlPath is { } crlPath && !TryReadCrl(crlPath, revoked, out error))
        {
            error = $"tls.crl_path: cannot load '{crlPath}': {error}";
            return null;
        }

        return new Trust(authorities, revoked);
    }

    /// <summary>The serial numbers a CRL (RFC 5280 section 5.1, PEM or DER) lists, as upper-case hex of their DER content.</summary>
    public static bool TryReadCrl(string path, HashSet<string> revoked, out string? error)
    {
        error = null;
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.AsSpan().IndexOf("-----BEGIN"u8) >= 0)
            {
                var pem = PemEncoding.Find(System.Text.Encoding.ASCII.GetString(bytes));
                var text = System.Text.Encoding.ASCII.GetString(bytes);
                bytes = Convert.FromBase64String(text[pem.Base64Data]);
            }

            var list = new AsnReader(bytes, AsnEncodingRules.DER).ReadSequence();
            var tbs = list.ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                tbs.ReadInteger(); // version
            }

            tbs.ReadSequence(); // signature algorithm
            tbs.ReadSequence(); // issuer
            ReadTime(tbs); // thisUpdate
            if (tbs.HasData && (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || tbs.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime)))
            {
                ReadTime(tbs); // nextUpdate
            }

            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var entries = tbs.ReadSequence();
                while (entries.HasData)
                {
                    var entry = entries.ReadSequence();
                    revoked.Add(Convert.ToHexString(entry.ReadIntegerBytes().Span));
                }
            }

            return true;
        }
        catch (Exception e) when (e is AsnContentException or FormatException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = e is FileNotFoundException ? "file not found" : "not a certificate revocation list (" + e.Message.TrimEnd('.') + ")";
            return false;
        }
    }

    private static void ReadTime(AsnReader reader)
    {
        if (reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime))
        {
            reader.ReadUtcTime();
        }
        else
        {
            reader.ReadGeneralizedTime();
        }
    }

    private sealed record Trust(X509Certificate2Collection Authorities, HashSet<string> Revoked);

    private static partial class Log
    {
        [LoggerMessage(3, LogLevel.Information, "tls.ca_cert_path: client CA reloaded ({Authorities} certificates, {Revoked} revoked serial numbers)")]
        public static partial void Reloaded(ILogger logger, int authorities, int revoked);

        [LoggerMessage(4, LogLevel.Error, "tls: the client CA or CRL file changed but cannot be loaded ({Error}); the previous ones stay in use")]
        public static partial void ReloadFailed(ILogger logger, string error);
    }
}
