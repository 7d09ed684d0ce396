using System.Diagnostics;
using System.Net;
using Gateway.Tests.Forwarding;

namespace Gateway.Tests.Resilience;

/// <summary>Load balancing, health, breakers and retries through the real gateway and real backends.</summary>
public sealed class ResilienceFunctionalTests
{
    private static Task<TestBackend> Named(string name, int status = 200) => TestBackend.StartAsync(async context =>
    {
        context.Response.StatusCode = status;
        context.Response.Headers["X-Served-By"] = name;
        await context.Request.Body.CopyToAsync(Stream.Null);
    });

    [Fact]
    public async Task Weighted_balancing_over_real_backends_keeps_exact_ratios()
    {
        await using var a = await Named("a");
        await using var b = await Named("b");
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api/*rest
                backends: [{url: "{{{a.Url}}}", weight: 3}, {url: "{{{b.Url}}}", weight: 1}]
                load_balancer: {strategy: weighted}
            """);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        }

        Assert.Equal(30, a.Requests);
        Assert.Equal(10, b.Requests);
    }

    [Fact]
    public async Task Get_is_retried_on_another_backend_and_post_that_reached_a_backend_is_not()
    {
        using var reset = RawBackend.ResetBeforeResponse();
        await using var good = await Named("good");
        await using var gateway = await TestGateway.StartAsync($$$"""
            retry: {max_retries: 2, initial_backoff_ms: 10, max_backoff_ms: 50}
            routes:
              - path: /api/*rest
                backends: [{url: "{{{reset.Url}}}"}, {url: "{{{good.Url}}}"}]
            """);
        for (var i = 0; i < 10; i++)
        {
            using var response = await gateway.Client.GetAsync("/api/x");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("good", response.Headers.GetValues("X-Served-By").Single());
        }

        Assert.Equal(10, good.Requests);
        var resetConnections = reset.Connections;

        var posts = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            posts.Add((await gateway.Client.PostAsync("/api/x", new StringContent("order"))).StatusCode);
        }

        // Every POST sent to the resetting backend failed once and was not sent again.
        var failed = posts.Count(s => s == HttpStatusCode.BadGateway);
        Assert.True(failed > 0);
        Assert.Equal(10 - failed, good.Requests - 10);
        Assert.Equal(failed, reset.Connections - resetConnections);
    }

    [Fact]
    public async Task Post_is_retried_when_nothing_was_sent()
    {
        await using var good = await Named("good");
        await using var gateway = await TestGateway.StartAsync($$$"""
            retry: {max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 5}
            routes:
              - path: /api/*rest
                backends: [{url: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"}, {url: "{{{good.Url}}}"}]
            """);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.PostAsync("/api/x", new StringContent("order"))).StatusCode);
        }

        Assert.Equal(6, good.Requests);
    }

    [Fact]
    public async Task Retries_on_5xx_only_for_replayable_requests()
    {
        var calls = 0;
        await using var flaky = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) % 2 == 1 ? 503 : 200;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            retry: {max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 5}
            routes:
              - {path: /api/*rest, backend: "{{{flaky.Url}}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        Assert.Equal(2, flaky.Requests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.PostAsync("/api/x", new StringContent("x"))).StatusCode);
        Assert.Equal(3, flaky.Requests);
    }

    [Fact]
    public async Task Open_breaker_stops_calling_the_backend_then_probes_and_closes()
    {
        var failing = true;
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = Volatile.Read(ref failing) ? 500 : 200;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            circuit_breaker: {failure_threshold: 3, success_threshold: 1, timeout_secs: 1, half_open_requests: 1}
            routes:
              - {path: /api/*rest, backend: "{{{backend.Url}}}"}
            """);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        }

        for (var i = 0; i < 10; i++)
        {
            using var open = await gateway.Client.GetAsync("/api/x");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, open.StatusCode);
            Assert.NotNull(open.Headers.RetryAfter);
            var problem = await ForwardingTests.AssertProblemAsync(open, 503);
            Assert.Equal("urn:gateway:problem:circuit-open", problem.GetProperty("type").GetString());
        }

        Assert.Equal(3, backend.Requests);
        Volatile.Write(ref failing, false);
        await Task.Delay(1100);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        Assert.Equal(5, backend.Requests);
    }

    [Fact]
    public async Task Active_health_checks_take_a_flapping_backend_out_and_back()
    {
        var healthy = true;
        await using var flapping = await TestBackend.StartAsync(context =>
        {
            context.Response.Headers["X-Served-By"] = "flapping";
            if (context.Request.Path == "/health")
            {
                context.Response.StatusCode = Volatile.Read(ref healthy) ? 200 : 500;
            }

            return Task.CompletedTask;
        });
        await using var steady = await Named("steady");
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api/*rest
                backends: [{url: "{{{flapping.Url}}}"}, {url: "{{{steady.Url}}}"}]
                health_check: {enabled: true, interval_secs: 0.2, timeout_secs: 0.1, unhealthy_threshold: 2, healthy_threshold: 2, path: /health}
            """);
        Volatile.Write(ref healthy, false);
        await Task.Delay(1000);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("steady", (await gateway.Client.GetAsync("/api/x")).Headers.GetValues("X-Served-By").Single());
        }

        Assert.Contains((await gateway.LogLinesAsync()), l => l.Contains("is now unhealthy", StringComparison.Ordinal));
        Volatile.Write(ref healthy, true);
        await Task.Delay(1000);
        var served = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            served.Add((await gateway.Client.GetAsync("/api/x")).Headers.GetValues("X-Served-By").Single());
        }

        Assert.Contains("flapping", served);
    }

    [Fact]
    public async Task No_healthy_backend_is_a_fast_503_with_retry_after()
    {
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api/*rest
                backends: [{url: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"}, {url: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"}]
                health_check: {passive_enabled: true, unhealthy_threshold: 1, ejection_secs: 60}
            """);
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        var watch = Stopwatch.StartNew();
        using var none = await gateway.Client.GetAsync("/api/x");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, none.StatusCode);
        Assert.NotNull(none.Headers.RetryAfter);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1));
        var problem = await ForwardingTests.AssertProblemAsync(none, 503);
        Assert.Equal("urn:gateway:problem:no-healthy-backend", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_connect_timeout_is_a_502_and_safe_to_retry_even_for_post()
    {
        var (listener, fillers, blackhole) = RawBackend.Blackhole();
        try
        {
            await using var good = await Named("good");
            await using var gateway = await TestGateway.StartAsync($$$"""
                server: {host: 127.0.0.1, port: 0, timeout_secs: 10, connect_timeout_secs: 0.5}
                retry: {max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 5}
                routes:
                  - {path: /alone, backend: "{{{blackhole}}}", retry: {max_retries: 0}}
                  - path: /pair
                    backends: [{url: "{{{blackhole}}}"}, {url: "{{{good.Url}}}"}]
                """);
            var watch = Stopwatch.StartNew();
            using var alone = await gateway.Client.GetAsync("/alone");
            Assert.Equal(HttpStatusCode.BadGateway, alone.StatusCode);
            Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.4), TimeSpan.FromSeconds(3));
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await gateway.Client.PostAsync("/pair", new StringContent("order"))).StatusCode);
            }

            Assert.Equal(4, good.Requests);
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
            listener.Dispose();
        }
    }

    [Fact]
    public async Task Retries_share_the_route_timeout_and_client_aborts_are_not_backend_failures()
    {
        using var hang = RawBackend.Hang();
        await using var gateway = await TestGateway.StartAsync($$$"""
            retry: {max_retries: 3, initial_backoff_ms: 1, max_backoff_ms: 5}
            routes:
              - {path: /slow, backend: "{{{hang.Url}}}", timeout_secs: 1}
            """);
        var watch = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.GatewayTimeout, (await gateway.Client.GetAsync("/slow")).StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2.5), $"took {watch.Elapsed}");

        var slow = 0;
        await using var sleepy = await TestBackend.StartAsync(async context =>
        {
            if (Interlocked.Increment(ref slow) <= 3)
            {
                await Task.Delay(2000, context.RequestAborted);
            }
        });
        await using var guarded = await TestGateway.StartAsync($$$"""
            circuit_breaker: {failure_threshold: 3, success_threshold: 1, timeout_secs: 30, half_open_requests: 1}
            routes:
              - path: /api
                backend: "{{{sleepy.Url}}}"
                health_check: {passive_enabled: true, unhealthy_threshold: 2, ejection_secs: 30}
            """);
        for (var i = 0; i < 3; i++)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => guarded.Client.GetAsync("/api", cts.Token));
        }

        await Task.Delay(200);
        Assert.Equal(HttpStatusCode.OK, (await guarded.Client.GetAsync("/api")).StatusCode);
    }

    [Fact]
    public async Task A_dead_backend_costs_a_fast_502_not_a_timeout()
    {
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, timeout_secs: 30}
            routes:
              - {path: /api/*rest, backend: "http://127.0.0.1:{{{RawBackend.RefusedPort()}}}"}
            """);
        var watch = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/api/x")).StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task The_clients_disconnect_cancels_the_upstream_request()
    {
        var cancelled = new TaskCompletionSource();
        await using var slow = await TestBackend.StartAsync(async context =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(20), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
            }
        });
        await using var gateway = await TestGateway.StartAsync($"routes:\n  - {{path: /slow, backend: \"{slow.Url}\"}}\n");
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gateway.Client.GetAsync("/slow", cts.Token));
        }

        var finished = await Task.WhenAny(cancelled.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(cancelled.Task, finished);
    }
}
