using Gateway.Authentication;
using Gateway.Forwarding;
using Gateway.Health;
using Gateway.Logging;
using Gateway.RateLimiting;
using Gateway.Redis;
using System.Diagnostics.Metrics;
using Gateway.Observability.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.State;

/// <summary>
/// Everything that outlives a config snapshot: backends (health, breaker, in-flight, connection pool), rate-limit
/// counters, JWKS caches, API-key caches and Redis connections, each in a registry keyed by what identifies it.
/// Snapshots refer to these objects and never own them; a reload keeps what the new snapshot still names and
/// retires the rest once it is live (pools closed and probes stopped at once; connections and caches that in-flight
/// requests of the old snapshot may still use are disposed after a grace period).
/// </summary>
internal sealed class LiveState : IAsyncDisposable
{
    /// <summary>How long a retired Redis connection or key cache stays usable for requests still on an older snapshot.</summary>
    public static readonly TimeSpan RetireGrace = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly List<(object Value, ITimer Timer)> _retiring = [];
    /// <summary>
    /// The meters of offline states (the offline verbs, unit tests), made once: nothing exports them, and a factory per
    /// offline compile would leave one more set of meters registered each time.
    /// </summary>
    private static readonly Lazy<(ServiceProvider Services, GatewayMetrics Metrics)> OfflineMeters = new(static () =>
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        return (services, new GatewayMetrics(services.GetRequiredService<IMeterFactory>(), null));
    });

    private readonly ServiceProvider? _meterServices;

    public LiveState(TimeProvider time, ILoggerFactory? loggers, UpstreamClient? upstream = null, AccessLog? accessLog = null, bool offline = false)
    {
        Time = time;
        Loggers = loggers ?? NullLoggerFactory.Instance;
        Offline = offline;
        Upstream = upstream ?? new UpstreamClient(TimeSpan.FromSeconds(5), time, http1FastPath: true);
        AccessLog = accessLog;
        Backends = new Registry<BackendKey, Backend>(static backend => backend.Retire());
        RedisConnections = new Registry<(string Url, int TimeoutMs), RedisConnection>(RetireLater);
        JwksSources = new Registry<JwksKey, JwksKeySource>(RetireLater);
        ApiKeyStores = new Registry<ApiKeyStoreKey, RedisApiKeyStore>();
        RateLimits = new RateLimitState(time);
        RedisRateLimits = new Registry<RedisLimitKey, RedisRateLimitStore>();
        RetryBudgets = new Registry<(string Route, double Ratio), Resilience.RetryBudget>();
        ResponseCaches = new Registry<Caching.CacheStoreKey, Caching.ResponseCacheStore>();
        TraceExports = new Registry<Observability.TraceExportKey, Observability.TraceExport>(RetireLater);
        HealthChecks = offline ? null : new HealthChecker(time, Loggers.CreateLogger("Gateway.Health"));
        Slos = new Registry<SloKey, SloTracker>();
        // One meter factory per state: its meters (the gateway's, and Kestrel's once the listeners are given it) are
        // this gateway's alone, and the exporter reads only those (plus the process-wide runtime and HttpClient meters).
        if (offline)
        {
            Meters = OfflineMeters.Value.Services.GetRequiredService<IMeterFactory>();
            Metrics = OfflineMeters.Value.Metrics;
        }
        else
        {
            _meterServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
            Meters = _meterServices.GetRequiredService<IMeterFactory>();
            Exporter = new PrometheusExporter(Meters);
            Metrics = new GatewayMetrics(Meters, this);
        }
    }

    /// <summary>A state for the offline verbs: nothing it holds ever connects or probes.</summary>
    public static LiveState ForOffline() => new(TimeProvider.System, null, offline: true);

    public TimeProvider Time { get; }

    /// <summary>
    /// The gateway has finished starting (it reports ready): Redis users made from now on, by a reload, connect in the
    /// background and never hold requests for a start-up wait.
    /// </summary>
    public bool StartedUp
    {
        get => Volatile.Read(ref _startedUp);
        set => Volatile.Write(ref _startedUp, value);
    }

    private bool _startedUp;

    public ILoggerFactory Loggers { get; }

    /// <summary>Built for the offline verbs (explain, routes, route tests): nothing is started.</summary>
    public bool Offline { get; }

    /// <summary>The connection pools to backends (the own HTTP/1.1 client's and HttpClient's).</summary>
    public UpstreamClient Upstream { get; }

    /// <summary>The access log writer (null offline).</summary>
    public AccessLog? AccessLog { get; }

    public Registry<BackendKey, Backend> Backends { get; }

    /// <summary>The response encoders alive now, bounded by <c>compression.max_concurrent</c>.</summary>
    public Compression.EncoderBudget CompressionEncoders { get; } = new();

    public Registry<(string Url, int TimeoutMs), RedisConnection> RedisConnections { get; }

    public Registry<JwksKey, JwksKeySource> JwksSources { get; }

    public Registry<ApiKeyStoreKey, RedisApiKeyStore> ApiKeyStores { get; }

    public RateLimitState RateLimits { get; }

    public Registry<RedisLimitKey, RedisRateLimitStore> RedisRateLimits { get; }

    /// <summary>Each route's retry budget (requests and retries of the last seconds), by route and ratio.</summary>
    public Registry<(string Route, double Ratio), Resilience.RetryBudget> RetryBudgets { get; }

    /// <summary>Response caches by scope (the global cache, or a route's own) and bounds: a reload that keeps them keeps their entries.</summary>
    public Registry<Caching.CacheStoreKey, Caching.ResponseCacheStore> ResponseCaches { get; }

    /// <summary>
    /// Span exporters by endpoint, protocol and service: a reload that keeps them keeps batching into the same one.
    /// One that a reload no longer names still takes the spans of requests in flight on the old snapshot for the grace
    /// period, then sends what it holds and closes.
    /// </summary>
    public Registry<Observability.TraceExportKey, Observability.TraceExport> TraceExports { get; }

    /// <summary>Each route's SLO tracker, by route and objective.</summary>
    public Registry<SloKey, SloTracker> Slos { get; }

    /// <summary>Where every meter of this gateway comes from (Kestrel's listeners get it too).</summary>
    public IMeterFactory Meters { get; }

    /// <summary>The gateway's instruments.</summary>
    public GatewayMetrics Metrics { get; }

    /// <summary>The Prometheus text of every meter (null offline).</summary>
    public PrometheusExporter? Exporter { get; }

    /// <summary>Active health checks of every live backend (null offline).</summary>
    public HealthChecker? HealthChecks { get; }

    /// <summary>The Redis connection for a URL, shared by everything that uses that server with the same timeout.</summary>
    public RedisConnection Redis(string url, int timeoutMs) =>
        RedisConnections.GetOrAdd((url, timeoutMs), static key => new RedisConnection(key.Url, TimeSpan.FromMilliseconds(key.TimeoutMs)));

    /// <summary>The snapshot just compiled is live: retire what it no longer names and start what it added.</summary>
    public void Commit(Configuration.RuntimeConfig live)
    {
        Backends.Commit();
        Upstream.Http1?.Endpoints.Commit();
        RedisRateLimits.Commit();
        RetryBudgets.Commit();
        ResponseCaches.Commit();
        TraceExports.Commit();
        Slos.Commit();
        RedisConnections.Commit();
        JwksSources.Commit();
        ApiKeyStores.Commit();
        RateLimits.Commit();
        HealthChecks?.Reconcile(live);
    }

    /// <summary>The snapshot just compiled will not go live.</summary>
    public void Abandon()
    {
        Backends.Abandon();
        Upstream.Http1?.Endpoints.Abandon();
        RedisRateLimits.Abandon();
        RetryBudgets.Abandon();
        Slos.Abandon();
        RedisConnections.Abandon();
        JwksSources.Abandon();
        ApiKeyStores.Abandon();
        RateLimits.Abandon();
        TraceExports.Abandon();
    }

    private void RetireLater(object value)
    {
        lock (_gate)
        {
            ITimer? timer = null;
            timer = Time.CreateTimer(_ => _ = DisposeRetiredAsync(value), null, RetireGrace, Timeout.InfiniteTimeSpan);
            _retiring.Add((value, timer));
        }
    }

    private async Task DisposeRetiredAsync(object value)
    {
        lock (_gate)
        {
            var index = _retiring.FindIndex(r => ReferenceEquals(r.Value, value));
            if (index < 0)
            {
                return;
            }

            _retiring[index].Timer.Dispose();
            _retiring.RemoveAt(index);
        }

        await DisposeValueAsync(value).ConfigureAwait(false);
    }

    private static ValueTask DisposeValueAsync(object value)
    {
        if (value is IAsyncDisposable asynchronous)
        {
            return asynchronous.DisposeAsync();
        }

        (value as IDisposable)?.Dispose();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (HealthChecks is not null)
        {
            await HealthChecks.DisposeAsync().ConfigureAwait(false);
        }

        Backends.RetireAll();
        RedisRateLimits.RetireAll();
        RedisConnections.RetireAll();
        JwksSources.RetireAll();
        ApiKeyStores.RetireAll();
        TraceExports.RetireAll();
        List<(object Value, ITimer Timer)> pending;
        lock (_gate)
        {
            pending = [.. _retiring];
            _retiring.Clear();
        }

        foreach (var (value, timer) in pending)
        {
            timer.Dispose();
            await DisposeValueAsync(value).ConfigureAwait(false);
        }

        Upstream.Dispose();
        Exporter?.Dispose();
        if (_meterServices is not null)
        {
            await _meterServices.DisposeAsync().ConfigureAwait(false);
        }
    }
}
