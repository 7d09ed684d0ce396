using System.Net;

namespace Gateway.Tests.Observability;

/// <summary>
/// The gateway's metrics as a scraper sees them, on the HTTP/1.1 codec this pass of the suite runs (scripts/test.sh runs
/// the suite once per codec, so every count here is checked on both).
/// </summary>
public sealed class MetricsFunctionalTests
{
    private static readonly HashSet<string> KnownMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "_OTHER"];

    [Fact]
    public async Task Requests_are_counted_once_each_by_route_id_method_and_status()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {id: users, path: "/api/users/:id", backend: "{{{backend.Url}}}"}
              - {id: hello, path: /hello, mock: {status: 201, body: hi}}
            """);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync($"/api/users/{i}")).StatusCode);
        }

        using (var post = await gateway.Client.PostAsync("/api/users/7", new StringContent("twelve bytes")))
        {
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.GetAsync("/hello")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync("/nowhere")).StatusCode);

        var samples = await MetricsText.ScrapeAsync(gateway);
        var requests = samples.Named("gateway_requests_total");
        Assert.Equal(3, Single(requests, "users", "GET", "200").Value);
        Assert.Equal(1, Single(requests, "users", "POST", "200").Value);
        Assert.Equal(1, Single(requests, "hello", "GET", "201").Value);
        Assert.Equal(1, Single(requests, "unmatched", "GET", "404").Value);
        Assert.Equal(6, requests.Sum(s => s.Value));
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.StartsWith("/api", StringComparison.Ordinal)));

        // The duration histogram: one observation per request, in buckets from 100 µs to 30 s.
        var buckets = samples.Named("gateway_request_duration_seconds_bucket").Where(s => s["route"] == "users").ToList();
        Assert.Equal(["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"],
            buckets.Select(b => b["le"]!));
        Assert.Equal(4, buckets[^1].Value);
        Assert.Equal(4, samples.Named("gateway_request_duration_seconds_count").Single(s => s["route"] == "users").Value);
        Assert.Equal(12, samples.Named("gateway_request_size_bytes_sum").Single(s => s["route"] == "users").Value);

        // One upstream attempt per proxied request, timed per backend; the mock and the 404 reach no backend.
        var attempts = samples.Named("gateway_backend_requests_total");
        var attempt = Assert.Single(attempts);
        Assert.Equal("users", attempt["route"]);
        Assert.Equal("http://127.0.0.1:" + backend.Port, attempt["backend"]);
        Assert.Equal(4, attempt.Value);
        Assert.Equal(4, samples.Named("gateway_backend_duration_seconds_count").Single().Value);
        Assert.Equal(1, samples.Named("gateway_backend_health").Single(s => s["route"] == "users").Value);
        Assert.Equal(0, samples.Named("gateway_circuit_breaker_state").Single(s => s["route"] == "users").Value);
        Assert.Contains(samples, s => s.Name == "gateway_config_last_reload_success_timestamp_seconds" && s.Value > 1_700_000_000);
    }

    [Fact]
    public async Task A_retried_request_counts_once_and_each_attempt_once()
    {
        var calls = 0;
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) == 1 ? 503 : 200;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$$"""
            retry: {max_retries: 2, initial_backoff_ms: 1, max_backoff_ms: 1}
            routes:
              - {id: flaky, path: /flaky, backend: "{{{backend.Url}}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/flaky")).StatusCode);

        var samples = await MetricsText.ScrapeAsync(gateway);
        Assert.Equal(1, samples.Named("gateway_requests_total").Single(s => s["route"] == "flaky").Value);
        var attempts = samples.Named("gateway_backend_requests_total").ToDictionary(s => s["status"]!, s => s.Value);
        Assert.Equal(1, attempts["503"]);
        Assert.Equal(1, attempts["200"]);
        Assert.Equal(1, samples.Named("gateway_retries_total").Single(s => s["route"] == "flaky").Value);
        Assert.Equal(2, samples.Named("gateway_backend_duration_seconds_count").Single().Value);
    }

    [Fact]
    public async Task Hostile_paths_and_methods_add_no_label_values()
    {
        await using var gateway = await TestGateway.StartAsync("""
            routes:
              - {id: files, path: "/files/*rest", mock: {status: 200}}
            """);
        var hostile = new[]
        {
            "GET /files/../../../etc/passwd HTTP/1.1",
            "GET /files/%2e%2e/%2e%2e/x HTTP/1.1",
            "GET /%00%ff%fe HTTP/1.1",
            "GET /" + new string('a', 2000) + " HTTP/1.1",
            "GET /files/a%2Fb HTTP/1.1",
            "BREW /files/pot HTTP/1.1",
            "GET /\"}evil{x=\"1 HTTP/1.1",
        };
        foreach (var line in hostile)
        {
            await gateway.SendRawAsync(line + "\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        }

        for (var i = 0; i < 50; i++)
        {
            await gateway.Client.GetAsync($"/random-{Guid.NewGuid():N}");
        }

        var samples = await MetricsText.ScrapeAsync(gateway);
        var requests = samples.Named("gateway_requests_total");
        Assert.All(requests, s => Assert.Contains(s["route"], new[] { "files", "unmatched" }));
        Assert.All(requests, s => Assert.Contains(s["method"]!, KnownMethods));
        Assert.True(requests.Count <= 8, string.Join('\n', requests));
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.Contains("random-", StringComparison.Ordinal) || v.Contains("evil", StringComparison.Ordinal) || v.Contains("passwd", StringComparison.Ordinal)));
        var scrape = await gateway.Admin.GetStringAsync("/metrics");
        Assert.DoesNotContain("BREW", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_public_port_serves_metrics_only_when_configured()
    {
        await using (var off = await TestGateway.StartAsync("routes:\n  - {id: a, path: /a, mock: {status: 200}}\n"))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await off.Client.GetAsync("/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await off.Admin.GetAsync("/metrics")).StatusCode);
        }

        await using (var disabled = await TestGateway.StartAsync("observability:\n  metrics: {enabled: false, path: /stats}\nroutes:\n  - {id: a, path: /a, mock: {status: 200}}\n"))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await disabled.Client.GetAsync("/stats")).StatusCode);
        }

        await using var on = await TestGateway.StartAsync("observability:\n  metrics: {enabled: true, path: /internal/metrics}\nroutes:\n  - {id: a, path: /a, mock: {status: 200}}\n");
        await on.Client.GetAsync("/a");
        using var response = await on.Client.GetAsync("/internal/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("X-Request-Id"));
        var samples = MetricsText.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, samples.Named("gateway_requests_total").Single(s => s["route"] == "a").Value);
        Assert.Equal(HttpStatusCode.NotFound, (await on.Client.GetAsync("/metrics")).StatusCode);
        var lines = await on.LogLinesAsync(l => l.Any(x => x.Contains(" started: ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains(" started: ", StringComparison.Ordinal) && l.Contains("public_metrics", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Admin_metrics_need_no_token_and_refuse_other_methods()
    {
        await using var gateway = await TestGateway.StartAsync("admin: {host: 127.0.0.1, port: 0, token: secret-admin-token-for-tests}\nroutes:\n  - {id: a, path: /a, mock: {status: 200}}\n");
        using var response = await gateway.Admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("secret-admin-token-for-tests", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await gateway.Admin.PostAsync("/metrics", new StringContent(""))).StatusCode);
    }

    [Fact]
    public async Task Runtime_kestrel_and_http_client_meters_are_exported()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        // Without the own HTTP/1.1 client the request goes through HttpClient (YARP), whose meter is exported.
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {id: a, path: /a, backend: "{{{backend.Url}}}"}
            """, http1FastPath: false);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/a")).StatusCode);
        var samples = await MetricsText.ScrapeAsync(gateway);
        Assert.Contains(samples, s => s.Name == "dotnet_gc_heap_total_allocated_bytes_total");
        Assert.Contains(samples, s => s.Name == "dotnet_process_cpu_time_seconds_total");
        Assert.Contains(samples, s => s.Name.StartsWith("kestrel_", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name == "http_client_request_duration_seconds_count");
        Assert.Contains(samples, s => s.Name == "gateway_active_connections");
    }

    [Fact]
    public async Task Http2_requests_are_counted_like_http1_ones()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, http2: true}
            routes:
              - {id: h2, path: "/h2/*rest", backend: "{{{backend.Url}}}"}
            """);
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        for (var i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync($"http://127.0.0.1:{gateway.Port}/h2/{i}");
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"http://127.0.0.1:{gateway.Port}/other")).StatusCode);
        var samples = await MetricsText.ScrapeAsync(gateway);
        Assert.Equal(3, Single(samples.Named("gateway_requests_total"), "h2", "GET", "200").Value);
        Assert.Equal(1, Single(samples.Named("gateway_requests_total"), "unmatched", "GET", "404").Value);
        Assert.Equal(3, samples.Named("gateway_backend_requests_total").Single().Value);
        Assert.Equal(3, samples.Named("gateway_request_duration_seconds_count").Single(s => s["route"] == "h2").Value);
    }

    [Fact]
    public async Task Slo_events_and_burn_rates_are_exported_per_route()
    {
        await using var gateway = await TestGateway.StartAsync("""
            routes:
              - {id: ok, path: /ok, mock: {status: 200}, slo: {latency_ms: 10000, target: 0.99}}
              - {id: broken, path: /broken, mock: {status: 500}, slo: {latency_ms: 10000, target: 0.9}}
              - {id: plain, path: /plain, mock: {status: 200}}
            """);
        for (var i = 0; i < 4; i++)
        {
            await gateway.Client.GetAsync("/ok");
            await gateway.Client.GetAsync("/broken");
            await gateway.Client.GetAsync("/plain");
        }

        var samples = await MetricsText.ScrapeAsync(gateway);
        Assert.Equal(4, samples.Named("gateway_slo_events_total").Single(s => s["route"] == "ok").Value);
        Assert.Equal(4, samples.Named("gateway_slo_good_events_total").Single(s => s["route"] == "ok").Value);
        Assert.Equal(4, samples.Named("gateway_slo_events_total").Single(s => s["route"] == "broken").Value);
        Assert.DoesNotContain(samples.Named("gateway_slo_good_events_total"), s => s["route"] == "broken");
        Assert.DoesNotContain(samples.Named("gateway_slo_events_total"), s => s["route"] == "plain");
        var burn = samples.Named("gateway_slo_error_budget_burn_rate");
        Assert.Equal(["1h", "5m", "6h"], burn.Where(s => s["route"] == "broken").Select(s => s["window"]!).Order(StringComparer.Ordinal));
        // Every request bad against a 10 % budget: the budget burns ten times as fast as it may.
        Assert.All(burn.Where(s => s["route"] == "broken"), s => Assert.Equal(10, s.Value, 6));
        Assert.All(burn.Where(s => s["route"] == "ok"), s => Assert.Equal(0, s.Value));
        Assert.Equal(0.9, samples.Named("gateway_slo_target").Single(s => s["route"] == "broken").Value);
    }

    [Fact]
    public async Task Auth_rate_limit_and_cache_metrics_carry_their_labels()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              api_key: {header: X-Api-Key, keys: {sk_test_key_00000000001: alice}}
            routes:
              - {id: keyed, path: /keyed, backend: "{{{backend.Url}}}", auth: {required: true, methods: [apikey]}}
              - id: limited
                path: /limited
                mock: {status: 200}
                rate_limit: [{dimension: ip, requests: 1, window_secs: 60}]
              - id: cached
                path: /cached
                backend: "{{{backend.Url}}}"
                cache: {enabled: true, ttl_secs: 60}
            """);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("/keyed")).StatusCode);
        await gateway.Client.GetAsync("/limited");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await gateway.Client.GetAsync("/limited")).StatusCode);
        await gateway.Client.GetAsync("/cached");

        var samples = await MetricsText.ScrapeAsync(gateway);
        Assert.Contains(samples.Named("gateway_auth_failures_total"), s => s["method"] == "apikey" && s["reason"] == "missing");
        Assert.Equal(1, samples.Named("gateway_rate_limit_exceeded_total").Single(s => s["route"] == "limited").Value);
        Assert.Contains(samples.Named("gateway_cache_requests_total"), s => s["route"] == "cached");
    }

    private static MetricSample Single(IReadOnlyList<MetricSample> samples, string route, string method, string status) =>
        Assert.Single(samples, s => s["route"] == route && s["method"] == method && s["status"] == status);
}
