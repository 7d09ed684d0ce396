using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Tls;

/// <summary>TLS certificates and client certificates: the files exist, load, match their keys and are in date.</summary>
internal static class TlsValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d, string baseDirectory, TimeProvider? time = null)
    {
        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].TlsUpstream is { } upstream)
            {
                Upstream(d, $"routes[{i}].tls_upstream", config.Routes[i], upstream, baseDirectory);
            }
        }

        if (config.Tls is not { } tls)
        {
            return;
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        if (tls.CertPath is not null || tls.KeyPath is not null)
        {
            Certificate(d, "tls", tls.CertPath, tls.KeyPath, tls.CertPassword, baseDirectory, now);
        }
        else if (tls.Certificates is not { Count: > 0 })
        {
            d.Error("tls", "needs cert_path and key_path (or certificates)");
        }

        if (tls.EnableMtls || tls.RequireClientCert)
        {
            if (FileExists(d, "tls.ca_cert_path", tls.CaCertPath, baseDirectory) is { } ca)
            {
                if (CertificateFiles.TryLoadCertificates(ca, out var error) is null)
                {
                    d.Error("tls.ca_cert_path", $"cannot load '{tls.CaCertPath}': {error}");
                }
            }

            if (tls.RequireClientCert && !tls.EnableMtls)
            {
                // The earlier gateway asked for client certificates with either key; kept, but said.
                d.Warning("tls.require_client_cert", "implies enable_mtls: client certificates are asked for and verified against ca_cert_path");
            }
        }
        else if (tls.CaCertPath is not null)
        {
            d.Warning("tls.ca_cert_path", "is not used: client certificates are asked for only with enable_mtls or require_client_cert");
        }

        if (tls.CrlPath is not null)
        {
            if (!(tls.EnableMtls || tls.RequireClientCert))
            {
                d.Warning("tls.crl_path", "is not used without enable_mtls or require_client_cert");
            }
            else if (FileExists(d, "tls.crl_path", tls.CrlPath, baseDirectory) is { } crl && !ClientCertificatePolicy.TryReadCrl(crl, [], out var error))
            {
                d.Error("tls.crl_path", $"cannot load '{tls.CrlPath}': {error}");
            }
        }

        if (tls.RedirectHttp is { } redirect)
        {
            ValidationRules.Port(d, "tls.redirect_http.port", redirect.Port);
            if (redirect.Port != 0 && (redirect.Port == config.Server.Port || (config.Admin.Enabled && redirect.Port == config.Admin.Port)))
            {
                d.Error("tls.redirect_http.port", $"must differ from server.port and admin.port (got {redirect.Port})");
            }

            if (redirect.HttpsPort is { } httpsPort)
            {
                ValidationRules.Port(d, "tls.redirect_http.https_port", httpsPort);
            }

            var host = redirect.Host;
            if (Uri.CheckHostName(host) is UriHostNameType.Unknown or UriHostNameType.Basic)
            {
                d.Error("tls.redirect_http.host", "must be the public host name clients are sent to (no scheme, port or path)");
            }
        }

        if (tls.ReloadIntervalSecs < 0 || double.IsNaN(tls.ReloadIntervalSecs))
        {
            d.Error("tls.reload_interval_secs", "must be 0 (never) or a number of seconds");
        }

        if (tls.Certificates is { } certificates)
        {
            var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < certificates.Count; i++)
            {
                var path = $"tls.certificates[{i}]";
                Certificate(d, path, certificates[i].CertPath, certificates[i].KeyPath, tls.CertPassword, baseDirectory, now);
                if (certificates[i].Hosts.Count == 0)
                {
                    d.Error(path + ".hosts", "must list at least one host name");
                }

                foreach (var host in certificates[i].Hosts)
                {
                    var name = host.Trim().TrimEnd('.');
                    if (name.Length == 0 || name.Contains(':', StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal)
                        || (name.Contains('*', StringComparison.Ordinal) && !(name.StartsWith("*.", StringComparison.Ordinal) && name.LastIndexOf('*') == 0)))
                    {
                        d.Error(path + ".hosts", $"'{host}' is not a host name (exact, or '*.example.com' for one label)");
                    }
                    else if (!seen.TryAdd(name, i))
                    {
                        d.Warning(path + ".hosts", $"'{host}' is listed already by tls.certificates[{seen[name]}], which wins");
                    }
                }
            }
        }
    }

    private static void Certificate(ConfigDiagnostics d, string path, string? certPath, string? keyPath, string? password, string baseDirectory, DateTimeOffset now)
    {
        var cert = FileExists(d, path + ".cert_path", certPath, baseDirectory);
        string? key = null;
        if (cert is null || !CertificateFiles.IsPkcs12(cert))
        {
            key = FileExists(d, path + ".key_path", keyPath, baseDirectory);
        }

        if (cert is null || (key is null && !CertificateFiles.IsPkcs12(cert)))
        {
            return;
        }

        var loaded = CertificateFiles.TryLoadServer(cert, key, password, out var error);
        if (loaded is null)
        {
            d.Error(path + ".cert_path", $"cannot load '{certPath}'{(key is null ? "" : $" with '{keyPath}'")}: {error}");
            return;
        }

        var leaf = loaded.Leaf;
        if (leaf.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            d.Warning(path + ".cert_path", $"the certificate '{certPath}' expired on {leaf.NotAfter.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}; clients will refuse it");
        }
        else if (leaf.NotBefore.ToUniversalTime() > now.UtcDateTime)
        {
            d.Warning(path + ".cert_path", $"the certificate '{certPath}' is not valid before {leaf.NotBefore.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}");
        }
        else if (leaf.NotAfter.ToUniversalTime() < now.UtcDateTime.AddDays(14))
        {
            d.Warning(path + ".cert_path", $"the certificate '{certPath}' expires on {leaf.NotAfter.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}, in less than 14 days");
        }

        if (leaf.Extensions[Oids.ExtendedKeyUsage] is X509EnhancedKeyUsageExtension usage && usage.EnhancedKeyUsages.Count > 0
            && usage.EnhancedKeyUsages[Oids.ServerAuthentication] is null)
        {
            d.Warning(path + ".cert_path", $"the certificate '{certPath}' is not issued for server authentication (its extended key usage); clients may refuse it");
        }
    }

    private static void Upstream(ConfigDiagnostics d, string path, RouteConfig route, UpstreamTlsConfig upstream, string baseDirectory)
    {
        if (upstream.InsecureSkipVerify)
        {
            d.Warning(path + ".insecure_skip_verify", $"INSECURE: the certificates of route {route.Id ?? route.Path}'s backends are not verified; anyone on the path can read and change its traffic. For test benches only");
        }

        if (upstream.CaPath is not null && FileExists(d, path + ".ca_path", upstream.CaPath, baseDirectory) is { } ca
            && CertificateFiles.TryLoadCertificates(ca, out var error) is null)
        {
            d.Error(path + ".ca_path", $"cannot load '{upstream.CaPath}': {error}");
        }

        if (upstream.ClientCertPath is not null || upstream.ClientKeyPath is not null)
        {
            var cert = FileExists(d, path + ".client_cert_path", upstream.ClientCertPath, baseDirectory);
            var key = cert is not null && CertificateFiles.IsPkcs12(cert) ? null : FileExists(d, path + ".client_key_path", upstream.ClientKeyPath, baseDirectory);
            if (cert is not null && (key is not null || CertificateFiles.IsPkcs12(cert)) && CertificateFiles.TryLoadServer(cert, key, null, out var loadError) is null)
            {
                d.Error(path + ".client_cert_path", $"cannot load '{upstream.ClientCertPath}': {loadError}");
            }
        }

        var urls = route.Backend is { } single ? [single] : (route.Backends ?? []).ConvertAll(b => b.Url);
        if (urls.Count > 0 && urls.TrueForAll(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase)))
        {
            d.Warning(path, "is not used: the route's backends are http://, not https://");
        }
    }

    /// <summary>The full path of an existing file, or null after an error naming the key.</summary>
    private static string? FileExists(ConfigDiagnostics d, string path, string? file, string baseDirectory)
    {
        var before = d.Problems.Count;
        ValidationRules.FileExists(d, path, file, baseDirectory);
        return d.Problems.Count == before ? (Path.IsPathRooted(file!) ? file : Path.GetFullPath(Path.Combine(baseDirectory, file!))) : null;
    }

    private static class Oids
    {
        public const string ExtendedKeyUsage = "2.5.29.37";
        public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    }
}
