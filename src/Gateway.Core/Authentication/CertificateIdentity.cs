using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Formats.Asn1;

namespace Gateway.Authentication;

/// <summary>
/// The caller as its TLS client certificate names it (the handshake has verified the certificate against the client
/// CA already). Its fields are the <c>mtls</c> method's claims, for <c>claims</c> rules and <c>claim:NAME</c> headers.
/// </summary>
internal sealed record CertificateIdentity(string Subject, string CommonName, string Issuer, string Serial, string Fingerprint,
    IReadOnlyList<string> DnsNames, IReadOnlyList<string> Uris, IReadOnlyList<string> Emails)
{
    /// <summary>The claim names a certificate answers.</summary>
    public static readonly string[] ClaimNames = ["sub", "cn", "issuer", "serial", "fingerprint_sha256", "san_dns", "san_uri", "san_email"];

    public IReadOnlyList<string> Claim(string name) => name switch
    {
        "sub" => [Subject],
        "cn" => CommonName.Length == 0 ? [] : [CommonName],
        "issuer" => [Issuer],
        "serial" => [Serial],
        "fingerprint_sha256" => [Fingerprint],
        "san_dns" => DnsNames,
        "san_uri" => Uris,
        "san_email" => Emails,
        _ => [],
    };

    public static CertificateIdentity From(X509Certificate2 certificate)
    {
        List<string> dns = [], uris = [], emails = [];
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value == "2.5.29.17")
            {
                ReadSubjectAlternativeNames(extension.RawData, dns, uris, emails);
            }
        }

        return new CertificateIdentity(
            certificate.Subject,
            certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) ?? "",
            certificate.Issuer,
            certificate.SerialNumber.ToLowerInvariant(),
            Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256)),
            dns, uris, emails);
    }

    /// <summary>GeneralNames (RFC 5280 section 4.2.1.6): rfc822Name [1], dNSName [2], uniformResourceIdentifier [6].</summary>
    private static void ReadSubjectAlternativeNames(byte[] raw, List<string> dns, List<string> uris, List<string> emails)
    {
        try
        {
            var names = new AsnReader(raw, AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue is 1 or 2 or 6)
                {
                    var value = names.ReadCharacterString(UniversalTagNumber.IA5String, tag);
                    (tag.TagValue switch { 1 => emails, 2 => dns, _ => uris }).Add(value);
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException)
        {
            // A malformed extension names nothing; the certificate passed the CA check, its other fields stand.
        }
    }
}
