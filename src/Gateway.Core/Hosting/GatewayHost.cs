using System.Net;
using Gateway.Admin;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Logging;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// A running gateway: the public listener (the request pipeline) and the admin listener, each its own
/// Kestrel server so that the admin side keeps answering <c>/readyz</c> while the public side drains.
/// </summary>
internal sealed partial class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _public;
    private readonly WebApplication? _admin;
    private readonly ILogger _logger;
    private Health.HealthChecker? _healthChecker;

    /// <summary>The backend connection pools: closed once the public listener has drained.</summary>
    private UpstreamClient? _upstream;
    private Resilience.BackendStateMetrics? _backendMetrics;

    private GatewayHost(WebApplication publicApp, WebApplication? adminApp, ConfigStore store, Lifecycle lifecycle, ILogger logger)
    {
        _public = publicApp;
        _admin = adminApp;
        Store = store;
        Lifecycle = lifecycle;
        _logger = logger;
    }

    public ConfigStore Store { get; }

    public Lifecycle Lifecycle { get; }

    /// <summary>The public port actually bound (useful when the config asked for port 0).</summary>
    public int Port { get; private set; }

    /// <summary>The admin port actually bound, or 0 when the admin listener is disabled.</summary>
    public int AdminPort { get; private set; }

    /// <param name="http1FastPath">Plain-HTTP backends get the gateway's own HTTP/1.1 client (default: on unless
    /// <see cref="ProcessSwitches.Http1FastPath"/> turns it off); false sends everything through YARP.</param>
    /// <param name="inlineIo">Kestrel runs requests on its I/O threads (see <see cref="ProcessSwitches.EnableInlineIo"/>).</param>
    public static async Task<GatewayHost> StartAsync(RuntimeConfig runtime, LogSink sink, TimeProvider time, IEnumerable<string>? warnings = null,
        bool? http1FastPath = null, bool inlineIo = false)
    {
        var config = runtime.Source;
        var logs = GatewayLoggerProvider.For(config.Logging, sink, time);
        var store = new ConfigStore(runtime);
        var lifecycle = new Lifecycle();
        var upstream = new UpstreamClient(TimeSpan.FromSeconds(config.Server.ConnectTimeoutSecs),
            http1FastPath ?? ProcessSwitches.IsOn(ProcessSwitches.Http1FastPath));
        var logger = logs.CreateLogger("Gateway");
        foreach (var warning in warnings ?? runtime.NotEnforced)
        {
            Log.StartupWarning(logger, warning);
        }

        if (config.Server.Http2 == true)
        {
            Log.StartupWarning(logger, "server.http2 without TLS: the public listener speaks HTTP/2 only (h2c with prior knowledge); HTTP/1.1 clients cannot connect");
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "gateway" });
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        // Inline scheduling pays off only with the runtime's inline socket completions, which the CLI turns on.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = inlineIo);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var limits = config.Server.Limits;
            kestrel.Limits.MaxRequestBodySize = null;
            // Kestrel's own ceilings sit above the configured limits, so that requests just over them reach
            // the pipeline and get a problem document; far larger ones are cut off by the server itself.
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxHeaderBytes * 2;
            kestrel.Limits.MaxRequestHeaderCount = limits.MaxHeaders * 2;
            kestrel.Limits.MaxRequestLineSize = (limits.MaxUriBytes * 2) + 64;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(limits.RequestHeaderTimeoutSecs);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(limits.KeepAliveTimeoutSecs);
            // Without TLS there is no protocol negotiation: opting into HTTP/2 makes the listener h2c-only.
            var protocols = config.Server.Http2 == true ? HttpProtocols.Http2 : HttpProtocols.Http1;
            Listen(kestrel, config.Server.Host, config.Server.Port, protocols);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(config.Server.ShutdownTimeoutSecs));
        builder.Services.AddSingleton<IHostLifetime, ManualLifetime>();
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(upstream);
        builder.Services.AddSingleton(lifecycle);
        builder.Services.AddSingleton(new AccessLog(sink, time));
        builder.Services.AddHttpForwarder();
        var publicApp = builder.Build();
        publicApp.UseGatewayPipeline();

        WebApplication? adminApp = null;
        if (config.Admin.Enabled)
        {
            adminApp = BuildAdmin(config.Admin, lifecycle, logs, logger);
        }

        var host = new GatewayHost(publicApp, adminApp, store, lifecycle, logger) { _upstream = upstream };
        await publicApp.StartAsync().ConfigureAwait(false);
        host.Port = BoundPort(publicApp);
        Log.Listening(logger, $"http://{FormatHost(config.Server.Host)}:{host.Port}");
        if (adminApp is not null)
        {
            try
            {
                await adminApp.StartAsync().ConfigureAwait(false);
            }
            catch
            {
                await publicApp.StopAsync().ConfigureAwait(false);
                throw;
            }

            host.AdminPort = BoundPort(adminApp);
            Log.AdminListening(logger, $"http://{FormatHost(AdminHost(config.Admin))}:{host.AdminPort}");
        }

        host._healthChecker = new Health.HealthChecker(runtime, time, logs.CreateLogger("Gateway.Health"));
        host._healthChecker.Start();
        host._backendMetrics = new Resilience.BackendStateMetrics(store);
        _ = runtime.Auth.WarmUpAsync();
        _ = runtime.RateLimiter.WarmUpAsync();
        lifecycle.MarkReady();
        return host;
    }

    /// <summary>
    /// Graceful stop: <c>/readyz</c> turns 503, the public listener stops accepting, in-flight requests
    /// finish (up to <c>server.shutdown_timeout_secs</c>), then the admin listener stops.
    /// </summary>
    public async Task StopAsync()
    {
        Lifecycle.BeginDrain();
        var timeout = TimeSpan.FromSeconds(Store.Current.Source.Server.ShutdownTimeoutSecs);
        Log.Draining(_logger, timeout.TotalSeconds);
        using (var cts = new CancellationTokenSource(timeout))
        {
            await _public.StopAsync(cts.Token).ConfigureAwait(false);
        }

        if (_admin is not null)
        {
            await _admin.StopAsync().ConfigureAwait(false);
        }

        if (_healthChecker is not null)
        {
            await _healthChecker.DisposeAsync().ConfigureAwait(false);
        }

        _backendMetrics?.Dispose();
        _upstream?.Dispose();

        await Store.Current.DisposeAsync().ConfigureAwait(false);
        Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _public.DisposeAsync().ConfigureAwait(false);
        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
        }

        _upstream?.Dispose();
    }

    private static WebApplication BuildAdmin(AdminConfig admin, Lifecycle lifecycle, ILoggerProvider logs, ILogger logger)
    {
        var host = AdminHost(admin);
        if (admin.Token is null)
        {
            if (host != admin.Host)
            {
                Log.AdminLoopbackOnly(logger, admin.Host);
            }
            else
            {
                Log.AdminNoToken(logger);
            }
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "gateway-admin" });
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            Listen(kestrel, host, admin.Port, HttpProtocols.Http1);
        });
        builder.Services.AddSingleton<IHostLifetime, ManualLifetime>();
        var app = builder.Build();
        new AdminApi(lifecycle, admin.Token).Map(app);
        return app;
    }

    /// <summary>Without a token the admin API is reachable from this machine only, whatever host was asked for.</summary>
    private static string AdminHost(AdminConfig admin) =>
        admin.Token is null && !IsLoopback(admin.Host) ? "127.0.0.1" : admin.Host;

    private static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static void Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols)
    {
        if (host == "localhost")
        {
            if (port == 0)
            {
                kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = protocols);
            }
            else
            {
                kestrel.ListenLocalhost(port, o => o.Protocols = protocols);
            }

            return;
        }

        kestrel.Listen(IPAddress.Parse(host), port, o => o.Protocols = protocols);
    }

    private static int BoundPort(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        foreach (var address in addresses)
        {
            var colon = address.LastIndexOf(':');
            if (colon > 0 && int.TryParse(address.AsSpan(colon + 1).TrimEnd('/'), out var port))
            {
                return port;
            }
        }

        return 0;
    }

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;

    private sealed class ManualLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "listening on {Address}")]
        public static partial void Listening(ILogger logger, string address);

        [LoggerMessage(2, LogLevel.Information, "admin listening on {Address}")]
        public static partial void AdminListening(ILogger logger, string address);

        [LoggerMessage(3, LogLevel.Warning, "admin.token is not set: the admin listener binds to 127.0.0.1 instead of {Host}")]
        public static partial void AdminLoopbackOnly(ILogger logger, string host);

        [LoggerMessage(4, LogLevel.Information, "admin.token is not set: the admin listener is reachable from this machine only")]
        public static partial void AdminNoToken(ILogger logger);

        [LoggerMessage(5, LogLevel.Information, "draining: readiness is off, finishing in-flight requests (up to {Seconds} s)")]
        public static partial void Draining(ILogger logger, double seconds);

        [LoggerMessage(7, LogLevel.Warning, "{Warning}")]
        public static partial void StartupWarning(ILogger logger, string warning);

        [LoggerMessage(6, LogLevel.Information, "stopped")]
        public static partial void Stopped(ILogger logger);
    }
}
