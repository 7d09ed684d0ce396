using System.Net;

using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Hosting;

/// <summary>The listeners, limits, logging and admin settings.</summary>
internal static class ServerValidator
{
    private static readonly string[] Http1Codecs = KnownValuesAttribute.Of<ServerConfig>(nameof(ServerConfig.Http1Codec));
    private static readonly string[] LogLevels = KnownValuesAttribute.Of<LoggingConfig>(nameof(LoggingConfig.Level));
    private static readonly string[] LogFormats = KnownValuesAttribute.Of<LoggingConfig>(nameof(LoggingConfig.Format));

    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        var server = config.Server;
        ListenHost(d, "server.host", server.Host);
        ValidationRules.Port(d, "server.port", server.Port);
        ValidationRules.Timeout(d, "server.timeout_secs", server.TimeoutSecs);
        ValidationRules.Timeout(d, "server.connect_timeout_secs", server.ConnectTimeoutSecs);
        ValidationRules.InRange(d, "server.shutdown_timeout_secs", server.ShutdownTimeoutSecs, 0, ValidationRules.MaxTimeoutSecs);
        for (var i = 0; i < server.TrustedProxies.Count; i++)
        {
            ValidationRules.Network(d, $"server.trusted_proxies[{i}]", server.TrustedProxies[i]);
        }

        for (var i = 0; i < (server.ProxyOnlyHeaders?.Count ?? 0); i++)
        {
            ValidationRules.HeaderName(d, $"server.proxy_only_headers[{i}]", server.ProxyOnlyHeaders![i]);
        }

        ValidationRules.OneOf(d, "server.http1_codec", server.Http1Codec, Http1Codecs);
        var limits = server.Limits;
        ValidationRules.InRange(d, "server.limits.max_header_bytes", limits.MaxHeaderBytes, 1024, 1024 * 1024);
        ValidationRules.InRange(d, "server.limits.max_headers", limits.MaxHeaders, 1, 10_000);
        ValidationRules.InRange(d, "server.limits.max_uri_bytes", limits.MaxUriBytes, 64, 1024 * 1024);
        ValidationRules.Timeout(d, "server.limits.request_header_timeout_secs", limits.RequestHeaderTimeoutSecs);
        ValidationRules.Timeout(d, "server.limits.keep_alive_timeout_secs", limits.KeepAliveTimeoutSecs);

        if (config.MaxRequestSize is long size && size <= 0)
        {
            d.Error("max_request_size", $"must be a number of bytes greater than 0 (got {size})");
        }

        if (server.Http2 == true && config.Tls is null)
        {
            d.Warning("server.http2", "without TLS the public listener speaks HTTP/2 only (h2c with prior knowledge); HTTP/1.1 clients cannot connect");
        }

        var admin = config.Admin;
        ListenHost(d, "admin.host", admin.Host);
        ValidationRules.Port(d, "admin.port", admin.Port);
        if (admin.Enabled && admin.Port != 0 && admin.Port == server.Port)
        {
            d.Error("admin.port", $"must differ from server.port ({server.Port}): the admin API never shares the public listener");
        }

        if (admin.Token is { } token)
        {
            if (token.AsSpan().Trim().IsEmpty || token.AsSpan().ContainsAnyInRange('\0', '\x1F') || token.Contains('\x7F', StringComparison.Ordinal))
            {
                // An empty token (an unset ${ADMIN_TOKEN:-}) would open the admin API to anyone on a non-loopback host.
                d.Error("admin.token", "is empty or has control characters; set a long random token, or remove the key to keep the admin API on loopback");
            }
            else if (token.Length < 16)
            {
                d.Warning("admin.token", "is shorter than 16 characters; use a long random token");
            }
        }

        var logging = config.Logging;
        ValidationRules.OneOf(d, "logging.level", logging.Level, LogLevels);
        ValidationRules.OneOf(d, "logging.format", logging.Format, LogFormats);
        if (logging.Sample is { } sample)
        {
            ValidationRules.InRange(d, "logging.sample.success_ratio", sample.SuccessRatio, 0, 1);
        }

        if (logging.Redact is { } redact)
        {
            for (var i = 0; i < redact.Headers.Count; i++)
            {
                ValidationRules.HeaderName(d, $"logging.redact.headers[{i}]", redact.Headers[i]);
            }

            for (var i = 0; i < redact.Query.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(redact.Query[i]))
                {
                    d.Error($"logging.redact.query[{i}]", "must name a query parameter");
                }
            }
        }
    }

    private static void ListenHost(ConfigDiagnostics d, string path, string host)
    {
        if (host == "localhost" || IPAddress.TryParse(host, out _))
        {
            return;
        }

        d.Error(path, $"'{host}' must be an IP address to listen on (0.0.0.0 for every IPv4 interface, :: for IPv6) or localhost");
    }
}
