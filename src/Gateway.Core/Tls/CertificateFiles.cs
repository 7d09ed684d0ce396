using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Tls;

/// <summary>A certificate loaded from its files: the leaf with its private key and the chain the server sends with it.</summary>
internal sealed record LoadedCertificate(X509Certificate2 Leaf, SslStreamCertificateContext Context);

/// <summary>
/// Reads certificates from disk: PEM (certificate file, possibly with intermediates after the leaf, and a key file)
/// or PKCS#12 (<c>.p12</c>/<c>.pfx</c>, key included). Paths are followed through symlinks, as Kubernetes mounts
/// secrets, so a swapped link is read like a rewritten file.
/// </summary>
internal static class CertificateFiles
{
    public static bool IsPkcs12(string path) =>
        path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Loads a server certificate with its key, or says in one sentence why it cannot.</summary>
    public static LoadedCertificate? TryLoadServer(string certPath, string? keyPath, string? password, out string? error)
    {
        error = null;
        try
        {
            X509Certificate2 leaf;
            var extra = new X509Certificate2Collection();
            if (IsPkcs12(certPath))
            {
                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(certPath, password, X509KeyStorageFlags.EphemeralKeySet);
                X509Certificate2? withKey = null;
                foreach (var certificate in all)
                {
                    if (withKey is null && certificate.HasPrivateKey)
                    {
                        withKey = certificate;
                    }
                    else
                    {
                        extra.Add(certificate);
                    }
                }

                if (withKey is null)
                {
                    error = "the PKCS#12 file holds no private key";
                    return null;
                }

                leaf = withKey;
            }
            else
            {
                if (string.IsNullOrEmpty(keyPath))
                {
                    error = "a PEM certificate needs key_path";
                    return null;
                }

                leaf = X509Certificate2.CreateFromPemFile(certPath, keyPath);
                var chain = new X509Certificate2Collection();
                chain.ImportFromPemFile(certPath);
                for (var i = 1; i < chain.Count; i++)
                {
                    extra.Add(chain[i]);
                }
            }

            return new LoadedCertificate(leaf, SslStreamCertificateContext.Create(leaf, extra, offline: true));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = Describe(e);
            return null;
        }
    }

    /// <summary>Every certificate of a PEM (or DER) file of trusted CAs.</summary>
    public static X509Certificate2Collection? TryLoadCertificates(string path, out string? error)
    {
        error = null;
        try
        {
            var collection = new X509Certificate2Collection();
            var text = File.ReadAllText(path);
            if (text.Contains("-----BEGIN", StringComparison.Ordinal))
            {
                collection.ImportFromPem(text);
            }
            else
            {
                collection.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }

            if (collection.Count == 0)
            {
                error = "holds no certificate";
                return null;
            }

            return collection;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = Describe(e);
            return null;
        }
    }

    /// <summary>A digest of what the files hold now (missing files count as empty), to notice a change.</summary>
    public static byte[] Fingerprint(IEnumerable<string?> paths)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in paths)
        {
            if (path is null)
            {
                continue;
            }

            try
            {
                hash.AppendData(File.ReadAllBytes(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                hash.AppendData("unreadable"u8);
            }

            hash.AppendData([0]);
        }

        return hash.GetHashAndReset();
    }

    private static string Describe(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "file not found",
        UnauthorizedAccessException => "file not readable (permission denied)",
        ArgumentException when e.Message.Contains("key", StringComparison.OrdinalIgnoreCase) => "the private key does not match the certificate",
        _ => e.Message.TrimEnd('.'),
    };
}
