using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Tls;

/// <summary>TLS certificates and client certificates.</summary>
internal static class TlsValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d, string baseDirectory)
    {
        if (config.Tls is { } tls)
        {
            if (tls.CertPath is not null || tls.KeyPath is not null)
            {
                ValidationRules.FileExists(d, "tls.cert_path", tls.CertPath, baseDirectory);
                ValidationRules.FileExists(d, "tls.key_path", tls.KeyPath, baseDirectory);
            }
            else if (tls.Certificates is not { Count: > 0 })
            {
                d.Error("tls", "needs cert_path and key_path (or certificates)");
            }

            if (tls.EnableMtls || tls.RequireClientCert)
            {
                ValidationRules.FileExists(d, "tls.ca_cert_path", tls.CaCertPath, baseDirectory);
            }

            if (tls.Certificates is { } certificates)
            {
                for (var i = 0; i < certificates.Count; i++)
                {
                    ValidationRules.FileExists(d, $"tls.certificates[{i}].cert_path", certificates[i].CertPath, baseDirectory);
                    ValidationRules.FileExists(d, $"tls.certificates[{i}].key_path", certificates[i].KeyPath, baseDirectory);
                    if (certificates[i].Hosts.Count == 0)
                    {
                        d.Error($"tls.certificates[{i}].hosts", "must list at least one host name");
                    }
                }
            }
        }
    }
}
