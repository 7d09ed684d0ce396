using System.Diagnostics;
using System.Net;

namespace Gateway.Tests.RateLimiting;

/// <summary>Rate limits shared through a real redis-server by several gateway processes.</summary>
public sealed class RedisRateLimitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-rl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(RedisServer redis, string backend, string algorithm, string failureMode = "open", int requests = 20, int timeoutMs = 50) => WriteConfig($$$"""
        server: {host: 127.0.0.1, port: 0}
        admin: {port: 0}
        logging: {access_log: false}
        rate_limiting:
          algorithm: {{{algorithm}}}
          failure_mode: {{{failureMode}}}
          redis: {url: "{{{redis.Url}}}", prefix: "rl-test:{{{algorithm}}}:", timeout_ms: {{{timeoutMs}}}}
        routes:
          - path: /limited
            backend: "{{{backend}}}"
            rate_limit: [{dimension: route, requests: {{{requests}}}, window_secs: 3600}]
          - path: /warm
            mock: {status: 204}
            rate_limit: [{dimension: ip, requests: 1000000, window_secs: 3600}]
        """);

    private string WriteConfig(string yaml)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static async Task<(GatewayProcess Process, HttpClient Client)[]> StartGatewaysAsync(string config, int count)
    {
        var gateways = new (GatewayProcess, HttpClient)[count];
        for (var i = 0; i < count; i++)
        {
            var process = GatewayProcess.Start(Paths.Repository, "run", "--config", config);
            var port = await process.WaitForListeningAsync();
            gateways[i] = (process, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
        }

        // Until a gateway has reached Redis it limits locally (failure_mode: open); wait for every one to count in Redis,
        // and open the client connections the burst below will use.
        foreach (var (process, client) in gateways)
        {
            await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => client.GetAsync("/warm")));
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline)
            {
                await client.GetAsync("/warm");
                if (!process.Stdout.Contains("Redis is unreachable", StringComparison.Ordinal) || process.Stdout.Contains("reachable again", StringComparison.Ordinal))
                {
                    break;
                }

                await Task.Delay(100);
            }
        }

        return gateways;
    }

    private static async Task StopAsync((GatewayProcess Process, HttpClient Client)[] gateways)
    {
        foreach (var (process, client) in gateways)
        {
            client.Dispose();
            await process.DisposeAsync();
        }
    }

    [SkippableTheory]
    [InlineData("sliding_window")]
    [InlineData("fixed_window")]
    [InlineData("token_bucket")]
    public async Task Three_gateways_sharing_redis_let_exactly_n_of_m_through(string algorithm)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        // Exactness is a property of the shared, atomic scripts; a generous deadline keeps this loaded 2-core test machine
        // from timing out a call and falling back to local limits (what failure_mode: open is for).
        var gateways = await StartGatewaysAsync(Config(redis, backend.Url, algorithm, timeoutMs: 2000), 3);
        try
        {
            var tasks = Enumerable.Range(0, 90).Select(i => gateways[i % 3].Client.GetAsync("/limited")).ToArray();
            var responses = await Task.WhenAll(tasks);
            Assert.Equal(20, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal(70, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
            Assert.Equal(20, backend.Requests);
            Assert.All(gateways, g => Assert.DoesNotContain("Redis is unreachable", g.Process.Stdout, StringComparison.Ordinal));
        }
        finally
        {
            await StopAsync(gateways);
        }
    }

    [SkippableFact]
    public async Task Redis_outage_fails_open_to_local_limits_fast_and_sharing_resumes_after_restart()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        var gateways = await StartGatewaysAsync(Config(redis, backend.Url, "sliding_window", requests: 5), 2);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await gateways[0].Client.GetAsync("/limited")).StatusCode);
            await redis.StopAsync();

            // Each gateway now limits on its own: 5 per process, answered fast.
            var watch = Stopwatch.StartNew();
            var local = new List<HttpStatusCode>();
            for (var i = 0; i < 7; i++)
            {
                local.Add((await gateways[1].Client.GetAsync("/limited")).StatusCode);
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"7 requests took {watch.Elapsed}");
            Assert.Equal(5, local.Count(s => s == HttpStatusCode.OK));
            Assert.Equal(2, local.Count(s => s == HttpStatusCode.TooManyRequests));
            Assert.Contains("rate limiting: Redis is unreachable", gateways[1].Process.Stdout, StringComparison.Ordinal);

            await redis.StartAgainAsync();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!gateways[0].Process.Stdout.Contains("Redis is reachable again", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                await gateways[0].Client.GetAsync("/limited");
                await Task.Delay(200);
            }

            Assert.Contains("Redis is reachable again", gateways[0].Process.Stdout, StringComparison.Ordinal);

            // Shared again: the fresh Redis counts across both gateways.
            var shared = new List<HttpStatusCode>();
            for (var i = 0; i < 12; i++)
            {
                shared.Add((await gateways[i % 2].Client.GetAsync("/limited")).StatusCode);
            }

            Assert.True(shared.Count(s => s == HttpStatusCode.OK) <= 5, string.Join(',', shared));
        }
        finally
        {
            await StopAsync(gateways);
        }
    }

    [SkippableFact]
    public async Task Redis_outage_with_failure_mode_closed_answers_503_within_the_timeout()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        var gateways = await StartGatewaysAsync(Config(redis, backend.Url, "fixed_window", failureMode: "closed"), 1);
        try
        {
            // The limiter's first connection to Redis may miss the 50 ms deadline on a busy machine (and fail closed):
            // the outage below is only meaningful once the limiter has reached Redis.
            var healthy = HttpStatusCode.ServiceUnavailable;
            for (var i = 0; i < 20 && healthy != HttpStatusCode.OK; i++)
            {
                healthy = (await gateways[0].Client.GetAsync("/limited")).StatusCode;
                if (healthy != HttpStatusCode.OK)
                {
                    await Task.Delay(100);
                }
            }

            Assert.Equal(HttpStatusCode.OK, healthy);
            var reachedBackend = backend.Requests;
            await redis.StopAsync();
            var watch = Stopwatch.StartNew();
            using var response = await gateways[0].Client.GetAsync("/limited");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
            Assert.Equal(reachedBackend, backend.Requests);
        }
        finally
        {
            await StopAsync(gateways);
        }
    }
}
