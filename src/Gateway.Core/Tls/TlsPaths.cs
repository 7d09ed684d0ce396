using Gateway.Configuration;

namespace Gateway.Tls;

/// <summary>
/// Certificate paths made absolute against the config file's folder once the config is validated, so that the
/// listener, the reload poll and every later snapshot read the same files whatever the working directory.
/// </summary>
internal static class TlsPaths
{
    public static GatewayConfig Absolute(GatewayConfig config, string baseDirectory)
    {
        if (config.Routes.Exists(r => r.TlsUpstream is not null))
        {
            config = config with
            {
                Routes = config.Routes.ConvertAll(r => r.TlsUpstream is not { } up ? r : r with
                {
                    TlsUpstream = up with
                    {
                        CaPath = Full(up.CaPath, baseDirectory),
                        ClientCertPath = Full(up.ClientCertPath, baseDirectory),
                        ClientKeyPath = Full(up.ClientKeyPath, baseDirectory),
                    },
                }),
            };
        }

        if (config.Tls is not { } tls)
        {
            return config;
        }

        return config with
        {
            Tls = tls with
            {
                CertPath = Full(tls.CertPath, baseDirectory),
                KeyPath = Full(tls.KeyPath, baseDirectory),
                CaCertPath = Full(tls.CaCertPath, baseDirectory),
                CrlPath = Full(tls.CrlPath, baseDirectory),
                Certificates = tls.Certificates?.ConvertAll(c => c with { CertPath = Full(c.CertPath, baseDirectory)!, KeyPath = Full(c.KeyPath, baseDirectory)! }),
            },
        };
    }

    public static string? Full(string? path, string baseDirectory) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
}
