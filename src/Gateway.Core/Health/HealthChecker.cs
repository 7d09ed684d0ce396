using Gateway.Configuration;
using System.Net;
using Gateway.Forwarding;
using Gateway.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Health;

/// <summary>
/// Active health checks of one config snapshot: every <c>interval_secs</c>, <c>GET {backend}{path}</c> with
/// <c>timeout_secs</c>; the status must be <c>expected_status</c>. Runs until the snapshot is retired.
/// </summary>
internal sealed partial class HealthChecker(RuntimeConfig runtime, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
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

    private readonly List<Task> _loops = [];

    public void Start()
    {
        foreach (var route in runtime.Routes)
        {
            if (route.Source.HealthCheck is { Enabled: true } config && route.Backends is { } group)
            {
                foreach (var backend in group.Backends)
                {
                    _loops.Add(Task.Run(() => LoopAsync(route, backend, config, _stop.Token)));
                }
            }
        }
    }

    private async Task LoopAsync(CompiledRoute route, Backend backend, HealthCheckConfig config, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(config.IntervalSecs), time);
        do
        {
            var healthy = await CheckAsync(route, backend, config, stop).ConfigureAwait(false);
            var before = backend.Health.ActiveHealthy;
            backend.Health.RecordActive(healthy);
            if (before != backend.Health.ActiveHealthy)
            {
                Log.Changed(logger, route.Id, backend.Name, backend.Health.ActiveHealthy ? "healthy" : "unhealthy");
            }
        }
        while (await WaitAsync(timer, stop).ConfigureAwait(false));
    }

    private async Task<bool> CheckAsync(CompiledRoute route, Backend backend, HealthCheckConfig config, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(config.TimeoutSecs));
        try
        {
            // Probe with the protocol the route forwards with: an h2c-only backend cannot answer HTTP/1.1.
            using var request = new HttpRequestMessage(HttpMethod.Get, backend.Prefix + config.Path)
            {
                Version = route.RequestConfig.Version ?? HttpVersion.Version11,
                VersionPolicy = route.RequestConfig.VersionPolicy ?? HttpVersionPolicy.RequestVersionOrLower,
            };
            request.Headers.TryAddWithoutValidation("User-Agent", "gateway-health-check");
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            return (int)response.StatusCode == config.ExpectedStatus;
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
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _http.Dispose();
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "health check: backend {Backend} of route {Route} is now {State}")]
        public static partial void Changed(ILogger logger, string route, string backend, string state);
    }
}
