using Gateway.Configuration;
using Gateway.Forwarding;
using Microsoft.Extensions.Logging;

namespace Gateway.Health;

/// <summary>
/// Active health checks for the life of the process: every <c>interval_secs</c>, <c>GET {backend}{path}</c> with
/// <c>timeout_secs</c>; the status must be <c>expected_status</c>. A live config decides which probes run: a reload
/// starts the probes it adds, stops those it removes, and leaves the others running with the state they found, so a
/// backend the checks took out stays out.
/// </summary>
internal sealed partial class HealthChecker(TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ProbeKey, Probe> _probes = [];
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private bool _disposed;

    /// <summary>The probes running now (for tests and the admin API).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _probes.Count;
            }
        }
    }

    /// <summary>Runs exactly the probes <paramref name="live"/> asks for.</summary>
    public void Reconcile(RuntimeConfig live)
    {
        var wanted = new Dictionary<ProbeKey, string>();
        foreach (var route in live.Routes)
        {
            if (route.Source.HealthCheck is { Enabled: true } config && route.Policy<ForwardPolicy>()?.Upstream is { } upstream)
            {
                foreach (var backend in upstream.Backends.Backends)
                {
                    wanted.TryAdd(new ProbeKey(backend, config, upstream.Version, upstream.VersionPolicy), route.Id);
                }
            }
        }

        List<Probe> stopped = [];
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var (key, probe) in _probes.ToList())
            {
                if (!wanted.ContainsKey(key))
                {
                    _probes.Remove(key);
                    stopped.Add(probe);
                }
            }

            foreach (var (key, route) in wanted)
            {
                if (!_probes.ContainsKey(key))
                {
                    var stop = new CancellationTokenSource();
                    _probes[key] = new Probe(stop, Task.Run(() => LoopAsync(key, route, stop.Token)));
                }
            }
        }

        foreach (var probe in stopped)
        {
            probe.Stop.Cancel();
        }
    }

    private async Task LoopAsync(ProbeKey key, string route, CancellationToken stop)
    {
        var backend = key.Backend;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(key.Config.IntervalSecs), time);
        do
        {
            var healthy = await CheckAsync(key, stop).ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                return;
            }

            var before = backend.Health.ActiveHealthy;
            backend.Health.RecordActive(healthy);
            if (before != backend.Health.ActiveHealthy)
            {
                Log.Changed(logger, route, backend.Name, backend.Health.ActiveHealthy ? "healthy" : "unhealthy");
            }
        }
        while (await WaitAsync(timer, stop).ConfigureAwait(false));
    }

    private async Task<bool> CheckAsync(ProbeKey key, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(key.Config.TimeoutSecs));
        try
        {
            // Probe with the protocol the route forwards with: an h2c-only backend cannot answer HTTP/1.1.
            using var request = new HttpRequestMessage(HttpMethod.Get, key.Backend.Prefix + key.Config.Path)
            {
                Version = key.Version,
                VersionPolicy = key.VersionPolicy,
            };
            request.Headers.TryAddWithoutValidation("User-Agent", "gateway-health-check");
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            return (int)response.StatusCode == key.Config.ExpectedStatus;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    private static async ValueTask<bool> WaitAsync(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Probe> probes;
        lock (_gate)
        {
            _disposed = true;
            probes = [.. _probes.Values];
            _probes.Clear();
        }

        foreach (var probe in probes)
        {
            await probe.Stop.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(probes.Select(p => p.Loop)).ConfigureAwait(false);
        foreach (var probe in probes)
        {
            probe.Stop.Dispose();
        }

        _http.Dispose();
    }

    /// <summary>What a probe checks: one backend, with one route's settings and protocol.</summary>
    private readonly record struct ProbeKey(Backend Backend, HealthCheckConfig Config, Version Version, HttpVersionPolicy VersionPolicy);

    private sealed record Probe(CancellationTokenSource Stop, Task Loop);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "health check: backend {Backend} of route {Route} is now {State}")]
        public static partial void Changed(ILogger logger, string route, string backend, string state);
    }
}
