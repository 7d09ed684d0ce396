using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Observability;

/// <summary>The earlier gateway's observability configs work as their comments say; the dashboard queries what the gateway exports.</summary>
public sealed partial class MetricsDeployTests
{
    [SkippableTheory]
    [InlineData("observability-metrics.yaml")]
    [InlineData("observability-full.yaml")]
    public async Task Reference_configs_serve_the_metrics_their_comments_list_on_the_public_port(string file)
    {
        Paths.RequireReferenceConfigs();
        var text = await File.ReadAllTextAsync(Path.Combine(Paths.ReferenceConfigs, file));
        // Its backends (localhost:3000 and up) point at a port where nothing listens: the requests fail and are counted as such.
        var yaml = BackendUrl().Replace(text, "http://127.0.0.1:" + RawBackend.ClosedPort())
            .Replace("host: \"0.0.0.0\"", "host: \"127.0.0.1\"", StringComparison.Ordinal).Replace("port: 8080", "port: 0", StringComparison.Ordinal);
        await using var gateway = await TestGateway.StartAsync(yaml);

        using (var users = await gateway.Client.GetAsync("/api/users"))
        {
            Assert.True((int)users.StatusCode is 401 or >= 500, users.StatusCode.ToString());
        }

        using (var products = await gateway.Client.GetAsync("/api/products/1"))
        {
            Assert.True((int)products.StatusCode >= 500, products.StatusCode.ToString());
        }

        // "curl http://localhost:8080/metrics": the public port, at observability.metrics.path.
        using var response = await gateway.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scrape = await response.Content.ReadAsStringAsync();
        var exported = TypeLine().Matches(scrape).Select(m => m.Groups[1].Value).ToHashSet();
        var listed = ListedMetric().Matches(text).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(listed);
        foreach (var name in listed)
        {
            // The metrics-only config has no authentication: nothing is ever counted under the auth metrics there.
            if (name.StartsWith("gateway_auth_", StringComparison.Ordinal) && !text.Contains("auth:", StringComparison.Ordinal))
            {
                continue;
            }

            Assert.True(exported.Contains(name), $"{file} lists {name}, which the gateway does not export");
        }
    }

    [SkippableFact]
    public async Task Every_dashboard_query_parses_and_names_exported_metrics()
    {
        var dashboard = await File.ReadAllTextAsync(Path.Combine(Paths.Repository, "deploy", "grafana", "gateway-dashboard.json"));
        using var document = JsonDocument.Parse(dashboard);
        var queries = document.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .ToList();
        Assert.True(queries.Count >= 20);

        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            auth:
              api_key: {header: X-Api-Key, keys: {sk_test_key_00000000001: alice}}
            circuit_breaker: {failure_threshold: 5, success_threshold: 1, timeout_secs: 30}
            routes:
              - id: keyed
                path: /keyed
                backend: "{{{backend.Url}}}"
                auth: {required: true, methods: [apikey]}
                rate_limit: [{dimension: ip, requests: 1, window_secs: 60}]
                cache: {enabled: true, ttl_secs: 60}
                slo: {latency_ms: 1000, target: 0.99}
              - {id: dead, path: /dead, backend: "http://127.0.0.1:{{{RawBackend.ClosedPort()}}}", retry: {max_retries: 1, initial_backoff_ms: 1}}
            """);
        for (var i = 0; i < 2; i++)
        {
            // The second is over the rate limit.
            using var request = new HttpRequestMessage(HttpMethod.Get, "/keyed");
            request.Headers.Add("X-Api-Key", "sk_test_key_00000000001");
            await gateway.Client.SendAsync(request);
        }

        await gateway.Client.GetAsync("/keyed");
        for (var i = 0; i < 6; i++)
        {
            // Five failures open the breaker: a transition to count.
            await gateway.Client.GetAsync("/dead");
        }
        Assert.False(gateway.Host.Reload("test").Applied);
        var exported = TypeLine().Matches(await gateway.Admin.GetStringAsync("/metrics")).Select(m => m.Groups[1].Value).ToHashSet();
        foreach (var query in queries)
        {
            foreach (Match name in MetricName().Matches(query))
            {
                var family = HistogramSeries().Replace(name.Value, "");
                Assert.True(exported.Contains(family), $"the dashboard queries {name.Value}, which the gateway does not export: {query}");
            }
        }

        // promtool parses every query, written as a recording rule with Grafana's variables filled in.
        PrometheusTools.Require("promtool");
        var rules = Path.Combine(Path.GetTempPath(), $"gateway-dashboard-{Guid.NewGuid():N}.yml");
        var lines = new List<string> { "groups:", "  - name: dashboard", "    rules:" };
        for (var i = 0; i < queries.Count; i++)
        {
            var expr = queries[i].Replace("$__rate_interval", "5m", StringComparison.Ordinal).Replace("$route", ".*", StringComparison.Ordinal);
            lines.Add($"      - record: dashboard:query{i}");
            lines.Add("        expr: " + JsonSerializer.Serialize(expr));
        }

        await File.WriteAllLinesAsync(rules, lines);
        try
        {
            var (exitCode, output) = await PrometheusTools.RunAsync("promtool", ["check", "rules", rules]);
            Assert.True(exitCode == 0, output);
        }
        finally
        {
            File.Delete(rules);
        }
    }

    [GeneratedRegex(@"http://localhost:\d+")]
    private static partial Regex BackendUrl();

    [GeneratedRegex(@"^# TYPE (\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^#\s+-\s+(gateway_[a-z_]+)", RegexOptions.Multiline)]
    private static partial Regex ListedMetric();

    [GeneratedRegex(@"\b(gateway|dotnet)_[a-z0-9_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSeries();
}
