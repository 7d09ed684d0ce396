using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Gateway.Configuration;
using Microsoft.Extensions.Logging;

namespace Gateway.Tls;

/// <summary>
/// TLS on the public listener: the certificates by SNI host name, the client-certificate check, and the handshake
/// options each connection gets. Every certificate (and the client CA and CRL) is held as the options made from its
/// files; a poll reads the files again and swaps in new options when they changed, so new handshakes see a renewed
/// certificate while open connections carry on. A file that fails to load leaves the options in place and is logged.
/// </summary>
internal sealed partial class ServerTls : IDisposable
{
    /// <summary>The cipher suites offered: AEAD with forward secrecy only (TLS 1.3's, and ECDHE with GCM or ChaCha20 on 1.2).</summary>
    private static readonly TlsCipherSuite[] ModernSuites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    private readonly TlsConfig _config;
    private readonly ILogger _logger;
    private readonly List<SslApplicationProtocol> _alpn;
    private readonly CipherSuitesPolicy? _ciphers;
    private readonly CertificateSlot _default;
    private readonly Dictionary<string, CertificateSlot> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(string Suffix, CertificateSlot Slot)> _wildcards = [];
    private readonly List<CertificateSlot> _slots = [];
    private readonly ClientCertificatePolicy? _clients;
    private readonly ITimer? _poll;
    private int _polling;

    private ServerTls(TlsConfig config, bool http2, TimeProvider time, ILogger logger)
    {
        _config = config;
        _logger = logger;
        _alpn = http2 ? [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] : [SslApplicationProtocol.Http11];
        _ciphers = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? new CipherSuitesPolicy(ModernSuites) : null;
        if (config.EnableMtls || config.RequireClientCert)
        {
            _clients = ClientCertificatePolicy.Load(config, time, out var error)
                ?? throw new InvalidOperationException("tls.ca_cert_path: " + error);
        }

        CertificateSlot? first = null;
        if (config.Certificates is { } certificates)
        {
            for (var i = 0; i < certificates.Count; i++)
            {
                var entry = certificates[i];
                var slot = Slot($"tls.certificates[{i}]", entry.CertPath, entry.KeyPath);
                first ??= slot;
                foreach (var host in entry.Hosts)
                {
                    var name = host.Trim().TrimEnd('.').ToLowerInvariant();
                    if (name.StartsWith("*.", StringComparison.Ordinal))
                    {
                        _wildcards.Add((name[1..], slot));
                    }
                    else
                    {
                        _exact.TryAdd(name, slot);
                    }
                }
            }
        }

        _default = config.CertPath is { } certPath ? Slot("tls", certPath, config.KeyPath) : first!;
        if (config.ReloadIntervalSecs > 0)
        {
            var period = TimeSpan.FromSeconds(config.ReloadIntervalSecs);
            _poll = time.CreateTimer(static state => ((ServerTls)state!).Poll(), this, period, period);
        }
    }

    /// <summary>The protocols ALPN offers, in order of preference.</summary>
    public IReadOnlyList<SslApplicationProtocol> ApplicationProtocols => _alpn;

    /// <summary>Whether client certificates are asked for (<c>enable_mtls</c> or <c>require_client_cert</c>).</summary>
    public bool AsksForClientCertificates => _clients is not null;

    /// <summary>Loads every certificate the config names; throws with a located message when one cannot be loaded.</summary>
    public static ServerTls Start(TlsConfig config, bool http2, TimeProvider time, ILogger logger) => new(config, http2, time, logger);

    /// <summary>The handshake options for a client that asked for this host name (SNI; null when it sent none).</summary>
    public SslServerAuthenticationOptions OptionsFor(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return _default.Options;
        }

        if (_exact.TryGetValue(serverName, out var slot))
        {
            return slot.Options;
        }

        foreach (var (suffix, candidate) in _wildcards)
        {
            // One label only: a.example.com matches *.example.com, a.b.example.com and example.com do not.
            if (serverName.Length > suffix.Length && serverName.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && serverName.AsSpan(0, serverName.Length - suffix.Length).IndexOf('.') < 0)
            {
                return candidate.Options;
            }
        }

        return _default.Options;
    }

    /// <summary>Reads every file again and swaps in what changed (the poll; also callable directly).</summary>
    public void Poll()
    {
        if (Interlocked.Exchange(ref _polling, 1) == 1)
        {
            return;
        }

        try
        {
            var clientsChanged = _clients?.Refresh(_logger) == true;
            foreach (var slot in _slots)
            {
                slot.Refresh(this, clientsChanged);
            }
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    public void Dispose() => _poll?.Dispose();

    private CertificateSlot Slot(string key, string certPath, string? keyPath)
    {
        var slot = new CertificateSlot(key, certPath, keyPath);
        var loaded = CertificateFiles.TryLoadServer(certPath, keyPath, _config.CertPassword, out var error)
            ?? throw new InvalidOperationException($"{key}.cert_path: cannot load '{certPath}': {error}");
        slot.Install(this, loaded, CertificateFiles.Fingerprint([certPath, keyPath]));
        _slots.Add(slot);
        return slot;
    }

    private SslServerAuthenticationOptions BuildOptions(LoadedCertificate certificate) => new()
    {
        ServerCertificateContext = certificate.Context,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CipherSuitesPolicy = _ciphers,
        ApplicationProtocols = _alpn,
        ClientCertificateRequired = _clients is not null,
        RemoteCertificateValidationCallback = _clients is { } clients ? clients.Validate : null,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowRenegotiation = false,
    };

    /// <summary>One certificate's files and the handshake options currently made from them.</summary>
    private sealed class CertificateSlot(string key, string certPath, string? keyPath)
    {
        private volatile SslServerAuthenticationOptions? _options;
        private LoadedCertificate? _loaded;
        private byte[] _fingerprint = [];
        private byte[] _failed = [];

        public SslServerAuthenticationOptions Options => _options!;

        public void Install(ServerTls owner, LoadedCertificate loaded, byte[] fingerprint)
        {
            _loaded = loaded;
            _fingerprint = fingerprint;
            _options = owner.BuildOptions(loaded);
        }

        public void Refresh(ServerTls owner, bool rebuild)
        {
            var now = CertificateFiles.Fingerprint([certPath, keyPath]);
            if (now.AsSpan().SequenceEqual(_fingerprint))
            {
                if (rebuild && _loaded is { } current)
                {
                    _options = owner.BuildOptions(current);
                }

                return;
            }

            if (now.AsSpan().SequenceEqual(_failed))
            {
                return; // already logged for this content
            }

            var loaded = CertificateFiles.TryLoadServer(certPath, keyPath, owner._config.CertPassword, out var error);
            if (loaded is null)
            {
                // A half-written pair (the certificate renewed, the key not yet) also lands here: the next change retries.
                _failed = now;
                Log.ReloadFailed(owner._logger, key, certPath, error ?? "unknown error");
                return;
            }

            Install(owner, loaded, now);
            _failed = [];
            Log.Reloaded(owner._logger, key, loaded.Leaf.Subject, loaded.Leaf.NotAfter.ToUniversalTime().ToString("u", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Key}: certificate reloaded ({Subject}, expires {NotAfter})")]
        public static partial void Reloaded(ILogger logger, string key, string subject, string notAfter);

        [LoggerMessage(2, LogLevel.Error, "{Key}: the certificate in '{Path}' changed but cannot be loaded ({Error}); the previous certificate stays in use")]
        public static partial void ReloadFailed(ILogger logger, string key, string path, string error);
    }
}
