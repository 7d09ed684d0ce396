using System.Diagnostics;
using System.Net;

namespace Gateway.Tests.RateLimiting;

/// <summary>Rate limits shared through a real redis-server by several gateway processes.</summary>
public sealed class RedisRateLimitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-rl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(RedisServer redis, string backend, string algorithm, string failureMode = "open", int requests = 20, int? timeoutMs = null) => WriteConfig($$$"""
        server: {host: 127.0.0.1, port: 0}
        admin: {port: 0}
        logging: {access_log: false}
        rate_limiting:
          algorithm: {{{algorithm}}}
          failure_mode: {{{failureMode}}}
          redis: {url: "{{{redis.Url}}}", prefix: "rl-test:{{{algorithm}}}:"{{{(timeoutMs is int t ? $", timeout_ms: {t}" : "")}}}}
        routes:
          - path: /limited
            backend: "{{{backend}}}"
            rate_limit: [{dimension: route, requests: {{{requests}}}, window_secs: 3600}]
          - path: /tenant
            backend: "{{{backend}}}"
            rate_limit: [{dimension: "header:X-Tenant", requests: {{{requests}}}, window_secs: 60}]
        """);

    private string WriteConfig(string yaml)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Starts the gateways together and returns as soon as each listens: no waiting for them to reach Redis.</summary>
    private static async Task<(GatewayProcess Process, HttpClient Client)[]> StartGatewaysAsync(string config, int count)
    {
        var processes = Enumerable.Range(0, count).Select(_ => GatewayProcess.Start(Paths.Repository, "run", "--config", config)).ToArray();
        var gateways = new (GatewayProcess, HttpClient)[count];
        for (var i = 0; i < count; i++)
        {
            var port = await processes[i].WaitForListeningAsync();
            gateways[i] = (processes[i], new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
        }

        return gateways;
    }

    /// <summary>Waits (up to 5 s) for a log line: the log writer writes a moment after what it reports has happened.</summary>
    private static async Task WaitForLogAsync(GatewayProcess process, string text)
    {
        for (var i = 0; i < 100 && !process.Stdout.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
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
        // Exactness is a property of the shared, atomic scripts. All 90 requests at once (no cap on those in flight) in
        // three fresh processes on this 2-core machine can take a call past the default deadline (its request is then
        // decided in memory, as failure_mode: open says): a generous deadline keeps this test about the scripts.
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
    public async Task Replicas_started_together_admit_exactly_the_limit_from_their_first_request_in_every_burst()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        // Start-up is what this is about: the gateways are not waited for, and the first burst comes as soon as they
        // listen. The Redis timeout is long so that a loaded test machine (three gateways, Redis and the clients on two
        // cores) never makes a call time out into the in-memory fallback, which is allowed to be inexact.
        var gateways = await StartGatewaysAsync(Config(redis, backend.Url, "sliding_window", requests: 30, timeoutMs: 2000), 3);
        try
        {
            for (var burst = 0; burst < 5; burst++)
            {
                // 120 requests over the three, 24 in flight at once, each burst on a fresh key; the first right after start-up.
                var tenant = $"burst-{burst}-{Guid.NewGuid():N}";
                using var inFlight = new SemaphoreSlim(24);
                var statuses = await Task.WhenAll(Enumerable.Range(0, 120).Select(async i =>
                {
                    await inFlight.WaitAsync();
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Get, "/tenant");
                        request.Headers.Add("X-Tenant", tenant);
                        using var response = await gateways[i % 3].Client.SendAsync(request);
                        return response.StatusCode;
                    }
                    finally
                    {
                        inFlight.Release();
                    }
                }));
                Assert.True(statuses.Count(s => s == HttpStatusCode.OK) == 30,
                    $"burst {burst}: {statuses.Count(s => s == HttpStatusCode.OK)} admitted of 120 (limit 30)\n{gateways[0].Process.Stdout}");
                Assert.Equal(90, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
            }

            Assert.All(gateways, g => Assert.DoesNotContain("Redis is unreachable", g.Process.Stdout, StringComparison.Ordinal));
        }
        finally
        {
            await StopAsync(gateways);
        }
    }

    [SkippableFact]
    public async Task A_redis_that_stalls_for_a_moment_keeps_limiting_and_no_request_waits_for_it()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        var gateways = await StartGatewaysAsync(Config(redis, backend.Url, "fixed_window", requests: 3, timeoutMs: 50), 1);
        try
        {
            var client = gateways[0].Client;
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/limited")).StatusCode);
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, (await client.GetAsync("/limited")).StatusCode);
            var slept = await redis.SleepAsync(TimeSpan.FromMilliseconds(500));
            var during = new List<HttpStatusCode>();
            while (!slept.IsCompleted)
            {
                during.Add((await client.GetAsync("/limited")).StatusCode);
            }

            // The calls during the stall timed out (50 ms each), several while it lasted (none waited for Redis to wake);
            // each was decided by the in-memory limiter (at most 3 more), never let through unlimited.
            Assert.True(during.Count >= 2, $"{during.Count} requests answered during a 500 ms stall");
            Assert.True(during.Count(s => s == HttpStatusCode.OK) <= 3, string.Join(',', during));

            // Redis did not count as gone, and decides again: the limit there is used up.
            Assert.Equal(HttpStatusCode.TooManyRequests, (await client.GetAsync("/limited")).StatusCode);
            Assert.DoesNotContain("Redis is unreachable", gateways[0].Process.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await StopAsync(gateways);
        }
    }

    [SkippableFact]
    public async Task A_reload_to_another_redis_never_holds_requests_for_a_start_up_wait()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        var config = Config(redis, backend.Url, "sliding_window", requests: 100);
        var gateways = await StartGatewaysAsync(config, 1);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await gateways[0].Client.GetAsync("/limited")).StatusCode);
            File.WriteAllText(config, File.ReadAllText(config).Replace(redis.Url, $"redis://127.0.0.1:{RawBackend.RefusedPort()}", StringComparison.Ordinal));
            gateways[0].Process.Signal("HUP");
            for (var i = 0; i < 100 && !gateways[0].Process.Stdout.Contains("config reloaded (SIGHUP): version 2", StringComparison.Ordinal); i++)
            {
                await Task.Delay(50);
            }

            Assert.Contains("config reloaded (SIGHUP): version 2", gateways[0].Process.Stdout, StringComparison.Ordinal);
            var watch = Stopwatch.StartNew();
            Assert.Equal(HttpStatusCode.OK, (await gateways[0].Client.GetAsync("/limited")).StatusCode);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"the first request after the reload took {watch.Elapsed}");
        }
        finally
        {
            await StopAsync(gateways);
        }
    }

    [SkippableFact]
    public async Task Readiness_waits_for_redis_at_start_up_then_reports_ready_with_the_failure_mode_applied_once()
    {
        var port = RawBackend.ClosedPort();
        await using var backend = await TestBackend.StartEchoAsync();
        var config = WriteConfig($$"""
            server: {host: 127.0.0.1, port: 0}
            admin: {port: 0}
            logging: {access_log: false}
            rate_limiting:
              failure_mode: closed
              redis: {url: "redis://127.0.0.1:{{port}}", startup_wait_secs: 2}
            routes:
              - path: /limited
                backend: "{{backend.Url}}"
                rate_limit: [{dimension: route, requests: 5, window_secs: 60}]
            """);
        await using var process = GatewayProcess.Start(Paths.Repository, "run", "--config", config);
        var adminPort = await process.WaitForAdminListeningAsync();
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
        var watch = Stopwatch.StartNew();
        using (var starting = await admin.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, starting.StatusCode);
            Assert.Contains("starting", await starting.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var ready = HttpStatusCode.ServiceUnavailable;
        while (ready != HttpStatusCode.OK && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100);
            ready = (await admin.GetAsync("/readyz")).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, ready);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), $"ready after {watch.Elapsed}, well before the 2 s start-up wait");
        const string GaveUp = "Redis is unreachable (not reached within 2 s of start-up); answering 503 (failure_mode: closed)";
        await WaitForLogAsync(process, GaveUp);
        Assert.Equal(1, Occurrences(process.Stdout, GaveUp));

        // From then on the failure mode applies, without waiting on Redis; once it is there, limits are shared.
        var publicPort = await process.WaitForListeningAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{publicPort}") };
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/limited")).StatusCode);
        await using var redis = await RedisServer.StartOnAsync(port);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var status = HttpStatusCode.ServiceUnavailable;
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            status = (await client.GetAsync("/limited")).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, status);
        await WaitForLogAsync(process, "Redis is reachable again");
        Assert.Equal(1, Occurrences(process.Stdout, "Redis is reachable again"));
        Assert.Equal(1, Occurrences(process.Stdout, "Redis is unreachable"));
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

            // (A first request through the second gateway too, so that the timing below is not its start-up's.)
            Assert.Equal(HttpStatusCode.OK, (await gateways[1].Client.GetAsync("/tenant")).StatusCode);
            await redis.StopAsync();

            // Each gateway now limits on its own: 5 per process, answered fast.
            var watch = Stopwatch.StartNew();
            var local = new List<HttpStatusCode>();
            for (var i = 0; i < 7; i++)
            {
                local.Add((await gateways[1].Client.GetAsync("/limited")).StatusCode);
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"7 requests took {watch.Elapsed}");
            await WaitForLogAsync(gateways[1].Process, "Redis is unreachable");
            Assert.Equal(1, Occurrences(gateways[1].Process.Stdout, "Redis is unreachable"));
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
            Assert.Equal(1, Occurrences(gateways[0].Process.Stdout, "Redis is reachable again"));
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
            // Start-up reached Redis before the first decision: the first request is decided there.
            Assert.Equal(HttpStatusCode.OK, (await gateways[0].Client.GetAsync("/limited")).StatusCode);
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
