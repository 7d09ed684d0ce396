using System.Net;
using Gateway.Admin;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Logging;
using Gateway.Pipeline;
using Gateway.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>How a gateway process is started beside its config.</summary>
internal sealed record GatewayStartOptions
{
    /// <summary>The config file, for reloads (null: the config was given as text and cannot be reloaded from a file).</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Applied to every config loaded, the first and each reload (command-line overrides such as --port).</summary>
    public Func<GatewayConfig, GatewayConfig> Overrides { get; init; } = static config => config;

    /// <summary>Warnings from loading the config, logged once at start.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Plain-HTTP backends get the gateway's own HTTP/1.1 client (null: <see cref="ProcessSwitches.Http1FastPath"/> decides).</summary>
    public bool? Http1FastPath { get; init; }

    /// <summary>The HTTP/1.1 codec, <c>native</c> or <c>kestrel</c>, whatever the config and the environment say (null: they decide).</summary>
    public string? Http1Codec { get; init; }

    /// <summary>Kestrel runs requests on its I/O threads (see <see cref="ProcessSwitches.EnableInlineIo"/>).</summary>
    public bool InlineIo { get; init; }
}

/// <summary>
/// A running gateway: the public listener (every request goes through the stages) and the admin listener, each its
/// own Kestrel server so that the admin side keeps answering <c>/readyz</c> while the public side drains; the live
/// state shared by all config snapshots; and the ways a new config comes in (file watch, SIGHUP, admin API).
/// </summary>
internal sealed partial class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _public;
    private readonly WebApplication? _admin;
    private readonly ILogger _logger;
    private ConfigWatcher? _watcher;
    private Tls.ServerTls? _tls;
    private WebApplication? _redirect;

    private GatewayHost(WebApplication publicApp, WebApplication? adminApp, ConfigStore store, LiveState state, ConfigReloader reloader, Lifecycle lifecycle, ILogger logger)
    {
        _public = publicApp;
        _admin = adminApp;
        Store = store;
        State = state;
        Reloader = reloader;
        Lifecycle = lifecycle;
        _logger = logger;
    }

    public ConfigStore Store { get; }

    public LiveState State { get; }

    public ConfigReloader Reloader { get; }

    public Lifecycle Lifecycle { get; }

    /// <summary>The public port actually bound (useful when the config asked for port 0).</summary>
    public int Port { get; private set; }

    /// <summary>The HTTP-to-HTTPS redirect port actually bound, or 0 without <c>tls.redirect_http</c>.</summary>
    public int RedirectPort { get; private set; }

    /// <summary>The admin port actually bound, or 0 when the admin listener is disabled.</summary>
    public int AdminPort { get; private set; }

    public static async Task<GatewayHost> StartAsync(GatewayConfig loaded, LogSink sink, TimeProvider time, GatewayStartOptions? options = null)
    {
        options ??= new GatewayStartOptions();
        var config = options.Overrides(loaded);
        var logs = GatewayLoggerProvider.For(config.Logging, sink, time);
        var loggers = logs.Factory();
        var lifecycle = new Lifecycle();
        var upstream = new UpstreamClient(TimeSpan.FromSeconds(config.Server.ConnectTimeoutSecs), time,
            options.Http1FastPath ?? ProcessSwitches.IsOn(ProcessSwitches.Http1FastPath));
        var state = new LiveState(time, loggers, upstream, new AccessLog(sink, time, text: config.Logging.Format == "text"));
        var runtime = ConfigCompiler.Compile(config, 1, time.GetUtcNow(), state);
        var store = new ConfigStore(runtime);
        state.Commit(runtime);
        var logger = logs.CreateLogger("Gateway");
        foreach (var warning in options.Warnings)
        {
            Log.StartupWarning(logger, warning);
        }

        var runner = new StageRunner(logs.CreateLogger("Gateway.Pipeline"));
        // Over TLS, ALPN offers h2 and http/1.1 unless server.http2 is false; without TLS, server.http2 means h2c only.
        var tls = config.Tls is { } tlsConfig ? Tls.ServerTls.Start(tlsConfig, config.Server.Http2 != false, time, logs.CreateLogger("Gateway.Tls")) : null;
        // HTTP/1.1 is served by the gateway's own codec unless the config asks for Kestrel's (HTTP/2 is Kestrel's).
        var native = (tls is not null || config.Server.Http2 != true) && (options.Http1Codec ?? ProcessSwitches.Http1CodecFor(config.Server.Http1Codec)) == "native"
            ? new Http1.NativeCodec(store, runner, time, config.Server.Limits, state.Metrics.Http1Refusals)
            : null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "gateway" });
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        // Inline scheduling pays off only with the runtime's inline socket completions, which the CLI turns on.
        builder.WebHost.UseSockets(sockets =>
        {
            sockets.UnsafePreferInlineScheduling = options.InlineIo;
            // A receive goes straight into a buffer instead of a zero-byte read first: one system call less per request
            // (3.3 -> 2.6 receives per proxied request, measured with strace) for 4 KiB held by each idle connection.
            sockets.WaitForDataBeforeAllocatingBuffer = false;
        });
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
            // HTTP/2's own ceilings (Kestrel's defaults, written down so that they are a decision): streams a client
            // may open at once, the HPACK table it may make the server keep, the largest frame. Kestrel also counts
            // streams a client resets before the server answered and closes a connection that does so too often
            // (the HTTP/2 rapid-reset attack, CVE-2023-44487).
            kestrel.Limits.Http2.MaxStreamsPerConnection = 100;
            kestrel.Limits.Http2.HeaderTableSize = 4096;
            kestrel.Limits.Http2.MaxFrameSize = 16 * 1024;
            kestrel.Limits.Http2.MaxRequestHeaderFieldSize = Math.Max(16 * 1024, limits.MaxHeaderBytes * 2);
            // Without TLS there is no protocol negotiation: opting into HTTP/2 makes the listener h2c-only.
            var protocols = tls is not null
                ? (config.Server.Http2 != false ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1)
                : (config.Server.Http2 == true ? HttpProtocols.Http2 : HttpProtocols.Http1);
            var connections = state.Metrics.Requests;
            Listen(kestrel, config.Server.Host, config.Server.Port, protocols, next => CountConnections(connections, native is null ? next : native.Use(next)), tls);
        });
        // The drain's own deadline (server.shutdown_timeout_secs of the config running then, a reload may change it)
        // decides how long in-flight requests get; the host's timeout only has to stay out of its way.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromDays(1));
        builder.Services.AddSingleton<IHostLifetime, ManualLifetime>();
        // Kestrel's and hosting's meters come from the state's factory, so that this gateway's exporter reads them.
        builder.Services.AddSingleton(state.Meters);
        var publicApp = builder.Build();
        publicApp.Run(context => runner.RunAsync(KestrelChannel.CreateExchange(context, store.Current, time)).AsTask());

        var reloader = new ConfigReloader(store, state, options.ConfigPath, options.Overrides, logs.CreateLogger("Gateway.Config"));
        WebApplication? adminApp = null;
        if (config.Admin.Enabled)
        {
            adminApp = BuildAdmin(config.Admin, lifecycle, reloader, state, logs, logger);
        }

        var host = new GatewayHost(publicApp, adminApp, store, state, reloader, lifecycle, logger) { _tls = tls };
        try
        {
            await publicApp.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            tls?.Dispose();
            await state.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        host.Port = BoundPort(publicApp);
        Log.Listening(logger, $"{(tls is null ? "http" : "https")}://{FormatHost(config.Server.Host)}:{host.Port}");
        if (config.Tls?.RedirectHttp is { } redirect)
        {
            var redirectApp = Tls.HttpRedirect.Build(redirect, config.Server.Host, config.Server.Port == 0 ? host.Port : config.Server.Port, logs);
            try
            {
                await redirectApp.StartAsync().ConfigureAwait(false);
            }
            catch
            {
                await publicApp.StopAsync().ConfigureAwait(false);
                await state.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            host._redirect = redirectApp;
            host.RedirectPort = BoundPort(redirectApp);
            Log.RedirectListening(logger, $"http://{FormatHost(config.Server.Host)}:{host.RedirectPort}", Tls.HttpRedirect.Origin(redirect, config.Server.Port == 0 ? host.Port : config.Server.Port));
        }
        if (adminApp is not null)
        {
            try
            {
                await adminApp.StartAsync().ConfigureAwait(false);
            }
            catch
            {
                await publicApp.StopAsync().ConfigureAwait(false);
                await state.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            host.AdminPort = BoundPort(adminApp);
            Log.AdminListening(logger, $"http://{FormatHost(AdminHost(config.Admin))}:{host.AdminPort}");
        }

        var facts = StartupSummary.Describe(runtime);
        Log.Started(logger, StartupSummary.Version(), options.ConfigPath ?? "(in-process)", facts.Routes, facts.Backends, native is null ? "kestrel" : "native", facts.Features);
        if (options.ConfigPath is { } path)
        {
            host._watcher = new ConfigWatcher(reloader, path, time, logs.CreateLogger("Gateway.Config"));
            host._watcher.Follow(config.HotReload);
        }

        // Ready once what the first requests need has been reached (Redis, within its start-up wait).
        var warming = WarmUp(runtime);
        reloader.Applied += static applied => _ = WarmUp(applied);
        _ = warming.ContinueWith(static (_, host) =>
        {
            var gateway = (GatewayHost)host!;
            gateway.State.StartedUp = true;
            gateway.Lifecycle.MarkReady();
        }, host, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return host;
    }

    /// <summary>Reloads the config file now (SIGHUP).</summary>
    public ReloadResult Reload(string trigger) => Reloader.Reload(trigger);

    /// <summary>
    /// Opens what the first requests would otherwise wait for (JWKS keys, Redis connections and scripts); the task ends
    /// when every Redis user has reached its server or given up (bounded by its start-up wait).
    /// </summary>
    private static Task WarmUp(RuntimeConfig runtime)
    {
        Task auth = Task.CompletedTask, limits = Task.CompletedTask;
        foreach (var route in runtime.Routes)
        {
            if (route.Policy<Authentication.AuthPolicy>() is { } policy)
            {
                auth = policy.Services.WarmUpAsync();
                break;
            }
        }

        foreach (var route in runtime.Routes)
        {
            if (route.Policy<RateLimiting.RouteRateLimits>() is { } policy)
            {
                limits = policy.Limiter.WarmUpAsync();
                break;
            }
        }

        return Task.WhenAll(auth, limits);
    }

    /// <summary>
    /// Graceful stop: <c>/readyz</c> turns 503, the public listener stops accepting, in-flight requests finish (up to
    /// <c>server.shutdown_timeout_secs</c>), then the admin listener stops and the live state is closed.
    /// </summary>
    public async Task StopAsync()
    {
        Lifecycle.BeginDrain();
        _watcher?.Dispose();
        var timeout = TimeSpan.FromSeconds(Store.Current.Source.Server.ShutdownTimeoutSecs);
        Log.Draining(_logger, timeout.TotalSeconds);
        using (var cts = new CancellationTokenSource(timeout, State.Time))
        {
            if (_redirect is not null)
            {
                await _redirect.StopAsync(cts.Token).ConfigureAwait(false);
            }

            await _public.StopAsync(cts.Token).ConfigureAwait(false);
        }

        if (_admin is not null)
        {
            await _admin.StopAsync().ConfigureAwait(false);
        }

        _tls?.Dispose();
        await State.DisposeAsync().ConfigureAwait(false);
        Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        _watcher?.Dispose();
        _tls?.Dispose();
        if (_redirect is not null)
        {
            await _redirect.DisposeAsync().ConfigureAwait(false);
        }

        await _public.DisposeAsync().ConfigureAwait(false);
        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static WebApplication BuildAdmin(AdminConfig admin, Lifecycle lifecycle, ConfigReloader reloader, LiveState state, ILoggerProvider logs, ILogger logger)
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
            kestrel.Limits.MaxRequestBodySize = AdminApi.MaxBodyBytes;
            Listen(kestrel, host, admin.Port, HttpProtocols.Http1);
        });
        builder.Services.AddSingleton<IHostLifetime, ManualLifetime>();
        builder.Services.AddSingleton(state.Meters);
        var app = builder.Build();
        new AdminApi(lifecycle, reloader, state.Exporter, admin.Token).Map(app);
        return app;
    }

    /// <summary>Without a token the admin API is reachable from this machine only, whatever host was asked for.</summary>
    private static string AdminHost(AdminConfig admin) =>
        admin.Token is null && !IsLoopback(admin.Host) ? "127.0.0.1" : admin.Host;

    private static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static void Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols, Func<ConnectionDelegate, ConnectionDelegate>? middleware = null, Tls.ServerTls? tls = null)
    {
        void Configure(ListenOptions listen)
        {
            listen.Protocols = protocols;
            if (tls is not null)
            {
                // TLS first: the native codec below it reads and writes plaintext, and sees the ALPN outcome.
                listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.TlsHandshakeCallbackOptions
                {
                    OnConnection = static context => ValueTask.FromResult(((Tls.ServerTls)context.State!).OptionsFor(context.ClientHelloInfo.ServerName)),
                    OnConnectionState = tls,
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                });
            }

            if (middleware is not null)
            {
                listen.Use(middleware);
            }
        }

        if (host == "localhost")
        {
            if (port == 0)
            {
                kestrel.Listen(IPAddress.Loopback, 0, Configure);
            }
            else
            {
                kestrel.ListenLocalhost(port, Configure);
            }

            return;
        }

        kestrel.Listen(IPAddress.Parse(host), port, Configure);
    }

    /// <summary>Counts the public listener's open client connections, whichever codec serves them.</summary>
    private static ConnectionDelegate CountConnections(Observability.Metrics.RequestMetrics metrics, ConnectionDelegate next) => async context =>
    {
        metrics.ConnectionOpened();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            metrics.ConnectionClosed();
        }
    };

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

        [LoggerMessage(8, LogLevel.Information, "gateway {Version} started: config {Config}, routes {Routes}, backends {Backends}, HTTP/1.1 codec {Codec}, features {Features}")]
        public static partial void Started(ILogger logger, string version, string config, int routes, int backends, string codec, string features);

        [LoggerMessage(9, LogLevel.Information, "redirect listening on {Address}: every request is sent to {Origin}")]
        public static partial void RedirectListening(ILogger logger, string address, string origin);

        [LoggerMessage(6, LogLevel.Information, "stopped")]
        public static partial void Stopped(ILogger logger);
    }
}
