using System.Net;

namespace Gateway.Tests.Observability;

/// <summary>The real Prometheus checks the gateway's output and the alert rules, and scrapes a running gateway.</summary>
public sealed class PrometheusToolTests
{
    [SkippableFact]
    public async Task Promtool_accepts_the_metrics_output()
    {
        PrometheusTools.Require("promtool");
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            observability:
              metrics: {enabled: true}
            circuit_breaker: {failure_threshold: 5, success_threshold: 1, timeout_secs: 30}
            auth:
              api_key: {header: X-Api-Key, keys: {sk_test_key_00000000001: alice}}
            routes:
              - {id: api, path: "/api/*rest", backend: "{{{backend.Url}}}", slo: {latency_ms: 250, target: 0.999}, cache: {enabled: true, ttl_secs: 60}}
              - {id: mock, path: /mock, mock: {status: 204}, rate_limit: [{dimension: ip, requests: 1, window_secs: 60}]}
              - {id: keyed, path: /keyed, mock: {status: 200}, auth: {required: true, methods: [apikey]}}
              - {id: dead, path: /dead, backend: "http://127.0.0.1:{{{RawBackend.ClosedPort()}}}", retry: {max_retries: 1, initial_backoff_ms: 1}}
            """);
        // Every family with series: requests, attempts, errors, retries, breaker transitions, auth, rate limits, cache.
        await gateway.Client.GetAsync("/api/a");
        await gateway.Client.GetAsync("/api/a");
        await gateway.Client.GetAsync("/mock");
        await gateway.Client.GetAsync("/mock");
        await gateway.Client.GetAsync("/keyed");
        await gateway.Client.GetAsync("/missing");
        for (var i = 0; i < 6; i++)
        {
            await gateway.Client.GetAsync("/dead");
        }

        foreach (var text in new[] { await gateway.Admin.GetStringAsync("/metrics"), await gateway.Client.GetStringAsync("/metrics") })
        {
            var (exitCode, output) = await PrometheusTools.RunAsync("promtool", ["check", "metrics"], text);
            Assert.True(exitCode == 0, output);
            Assert.Contains("gateway_requests_total{route=\"api\",method=\"GET\",status=\"200\"} 2", text, StringComparison.Ordinal);
            Assert.Contains("gateway_circuit_breaker_transitions_total{", text, StringComparison.Ordinal);
            Assert.Contains("gateway_rate_limit_exceeded_total{", text, StringComparison.Ordinal);
            Assert.Contains("gateway_auth_failures_total{", text, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task Promtool_accepts_the_alert_rules()
    {
        PrometheusTools.Require("promtool");
        var rules = Path.Combine(Paths.Repository, "deploy", "prometheus", "alerts.yml");
        var (exitCode, output) = await PrometheusTools.RunAsync("promtool", ["check", "rules", rules]);
        Assert.True(exitCode == 0, output);
        foreach (var alert in new[] { "GatewayHighErrorRatio", "GatewayHighP99Latency", "GatewayCircuitBreakerOpen", "GatewaySloFastBurn", "GatewaySloSlowBurn", "GatewayConfigReloadFailing" })
        {
            Assert.Contains(alert, output + await File.ReadAllTextAsync(rules), StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task A_real_prometheus_scrapes_the_gateway()
    {
        PrometheusTools.Require("prometheus");
        await using var gateway = await TestGateway.StartAsync("""
            routes:
              - {id: scraped, path: /hello, mock: {status: 200, body: hi}}
            """);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/hello")).StatusCode);
        }

        await using var prometheus = await PrometheusServer.StartAsync(gateway.Host.AdminPort, "/metrics");
        var value = 0.0;
        for (var i = 0; i < 300 && value < 5; i++)
        {
            var result = await prometheus.QueryAsync("gateway_requests_total{route=\"scraped\",status=\"200\"}");
            if (result.Length == 1)
            {
                Assert.Equal("GET", result[0].GetProperty("metric").GetProperty("method").GetString());
                Assert.Equal("gateway", result[0].GetProperty("metric").GetProperty("job").GetString());
                value = double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (value < 5)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(5, value);
        var up = await prometheus.QueryAsync("up{job=\"gateway\"}");
        Assert.Equal("1", Assert.Single(up).GetProperty("value")[1].GetString());
    }
}
