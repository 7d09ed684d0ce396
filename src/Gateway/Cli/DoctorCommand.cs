using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Gateway.Configuration;
using Gateway.Tls;

namespace Gateway.Cli;

/// <summary>
/// <c>gateway doctor FILE</c>: live checks beside the config's own validation (SPEC section 1): the listen ports are
/// free, every backend accepts a TCP connection, every Redis answers, every certificate file loads (with its expiry
/// and host names), and the config's warnings. Exit 1 when something would stop the gateway from serving.
/// </summary>
internal static class DoctorCommand
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    public static Command Build()
    {
        var file = new Argument<string>("FILE") { Description = "The config file to check." };
        var command = new Command("doctor", "Check what the config needs on this machine: ports, backends, Redis, certificates.") { file };
        command.SetAction((parse, cancel) => RunAsync(parse.GetValue(file)!, cancel));
        return command;
    }

    private static async Task<int> RunAsync(string file, CancellationToken cancel)
    {
        var loaded = ConfigLoader.LoadFile(file);
        foreach (var problem in loaded.Problems)
        {
            Console.Out.WriteLine((problem.IsError ? "FAIL config  " : "warn config  ") + problem);
        }

        if (loaded.HasErrors || loaded.Config is not { } config)
        {
            Console.Out.WriteLine("doctor: the config has errors; fix them first (gateway validate " + file + ")");
            return CliApp.UserError;
        }

        var failures = 0;
        void Report(bool ok, string what, string detail)
        {
            failures += ok ? 0 : 1;
            Console.Out.WriteLine($"{(ok ? "ok  " : "FAIL")} {what,-8}{detail}");
        }

        // Ports: what `run` would bind.
        var ports = new List<(string Key, string Host, int Port)> { ("server.port", config.Server.Host, config.Server.Port) };
        if (config.Admin.Enabled)
        {
            ports.Add(("admin.port", config.Admin.Token is null ? "127.0.0.1" : config.Admin.Host, config.Admin.Port));
        }

        if (config.Tls?.RedirectHttp is { } redirect)
        {
            ports.Add(("tls.redirect_http.port", config.Server.Host, redirect.Port));
        }

        foreach (var (key, host, port) in ports)
        {
            if (port == 0)
            {
                Report(true, "port", $"{key}: 0 (any free port)");
                continue;
            }

            var error = TryBind(host, port);
            Report(error is null, "port", $"{key}: {host}:{port} {(error is null ? "is free" : "cannot be bound: " + error)}");
        }

        // Backends: a TCP connection each (no request: doctor never sends traffic a backend would act on).
        var backends = config.Routes
            .SelectMany(r => r.Backend is { } single ? [single] : (r.Backends ?? []).Select(b => b.Url))
            .Distinct(StringComparer.Ordinal).ToList();
        var checks = backends.Select(async url =>
        {
            var uri = new Uri(url);
            var error = await TryConnectAsync(uri.IdnHost, uri.Port, cancel).ConfigureAwait(false);
            return (url, error);
        }).ToList();
        foreach (var check in checks)
        {
            var (url, error) = await check.ConfigureAwait(false);
            Report(error is null, "backend", $"{url} {(error is null ? "accepts connections" : "is unreachable: " + error)}");
        }

        // Redis: a real connection (authentication included), for each distinct URL.
        var redis = new[] { config.Auth?.ApiKey?.Redis, config.RateLimiting?.Redis, config.Cache?.Redis }
            .Where(r => r is not null).Select(r => r!.Url).Distinct(StringComparer.Ordinal).ToList();
        foreach (var url in redis)
        {
            var error = await TryRedisAsync(url).ConfigureAwait(false);
            Report(error is null, "redis", $"{RedactedRedis(url)} {(error is null ? "answers" : "is unreachable: " + error)}");
        }

        // Certificates: each file the listener and the routes would load.
        if (config.Tls is { } tls)
        {
            if (tls.CertPath is { } cert)
            {
                Certificate(Report, "tls", cert, tls.KeyPath, tls.CertPassword);
            }

            for (var i = 0; i < (tls.Certificates?.Count ?? 0); i++)
            {
                Certificate(Report, $"tls.certificates[{i}]", tls.Certificates![i].CertPath, tls.Certificates[i].KeyPath, tls.CertPassword);
            }

            if (tls.CaCertPath is { } ca && (tls.EnableMtls || tls.RequireClientCert))
            {
                Authorities(Report, "tls.ca_cert_path", ca);
            }
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].TlsUpstream is { } upstream)
            {
                if (upstream.CaPath is { } ca)
                {
                    Authorities(Report, $"routes[{i}].tls_upstream.ca_path", ca);
                }

                if (upstream.ClientCertPath is { } cert)
                {
                    Certificate(Report, $"routes[{i}].tls_upstream", cert, upstream.ClientKeyPath, null);
                }
            }
        }

        var warnings = loaded.Problems.Count(p => !p.IsError);
        Console.Out.WriteLine(failures == 0
            ? $"doctor: {file}: everything checked is ready ({warnings} config warning{(warnings == 1 ? "" : "s")})"
            : $"doctor: {file}: {failures} problem{(failures == 1 ? "" : "s")} found");
        return failures == 0 ? CliApp.Ok : CliApp.UserError;
    }

    private static void Certificate(Action<bool, string, string> report, string key, string certPath, string? keyPath, string? password)
    {
        var loaded = CertificateFiles.TryLoadServer(certPath, keyPath, password, out var error);
        if (loaded is null)
        {
            report(false, "cert", $"{key}: {certPath} cannot be loaded: {error}");
            return;
        }

        var leaf = loaded.Leaf;
        var notAfter = leaf.NotAfter.ToUniversalTime();
        var days = (notAfter - TimeProvider.System.GetUtcNow().UtcDateTime).TotalDays;
        var names = Names(leaf);
        var detail = $"{key}: {leaf.Subject}, names [{string.Join(", ", names)}], expires {notAfter.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
        report(days > 0, "cert", days > 0 ? $"{detail} (in {Math.Floor(days).ToString(CultureInfo.InvariantCulture)} days)" : detail + " (EXPIRED)");
    }

    private static void Authorities(Action<bool, string, string> report, string key, string path)
    {
        var authorities = CertificateFiles.TryLoadCertificates(path, out var error);
        report(authorities is not null, "cert", authorities is null
            ? $"{key}: {path} cannot be loaded: {error}"
            : $"{key}: {authorities.Count} CA certificate{(authorities.Count == 1 ? "" : "s")} ({string.Join("; ", authorities.Select(a => a.Subject))})");
    }

    private static List<string> Names(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(a => a.ToString()));
            }
        }

        return names;
    }

    private static string? TryBind(string host, int port)
    {
        try
        {
            var address = host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
            using var listener = new TcpListener(address, port);
            listener.Start();
            listener.Stop();
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "already in use" : e.Message;
        }
    }

    private static async Task<string?> TryConnectAsync(string host, int port, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return $"no connection within {ConnectTimeout.TotalSeconds:0} s";
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.HostNotFound or SocketError.NoData => "host name not found",
                _ => e.Message,
            };
        }
    }

    private static async Task<string?> TryRedisAsync(string url)
    {
        try
        {
            var options = Redis.RedisUrl.ToOptions(url);
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = (int)ConnectTimeout.TotalMilliseconds;
            options.ConnectRetry = 0;
            await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
            await connection.GetDatabase().PingAsync().ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or ArgumentException or TimeoutException)
        {
            // The client's message can name the password-bearing configuration string: say only what kind of failure.
            return e is StackExchange.Redis.RedisConnectionException connection ? connection.FailureType.ToString() : e.GetType().Name;
        }
    }

    /// <summary>The URL without its credentials (secrets never reach the output).</summary>
    private static string RedactedRedis(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{(uri.Port < 0 ? 6379 : uri.Port)}" : "(redis url)";
}
