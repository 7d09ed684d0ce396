using System.Diagnostics.Metrics;
using Gateway.Configuration;
using Gateway.Observability.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Observability;

public sealed class MetricsUnitTests
{
    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, "test.yaml", Directory.GetCurrentDirectory());

    [Theory]
    [InlineData("target: 1", "routes[0].slo.target", "between 0 and 1")]
    [InlineData("target: 0", "routes[0].slo.target", "between 0 and 1")]
    [InlineData("target: 1.5", "routes[0].slo.target", "between 0 and 1")]
    [InlineData("target: 0.99, latency_ms: 0", "routes[0].slo.latency_ms", "greater than 0")]
    [InlineData("target: 0.99, latency_ms: -5", "routes[0].slo.latency_ms", "greater than 0")]
    public void Slo_objectives_out_of_range_are_located_errors(string slo, string path, string message)
    {
        var withLatency = slo.Contains("latency_ms", StringComparison.Ordinal) ? slo : slo + ", latency_ms: 200";
        var result = Load($"routes:\n  - path: /a\n    mock: {{status: 200}}\n    slo: {{{withLatency}}}\n");
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Equal(4, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_slo_is_neither_error_nor_warning()
    {
        var result = Load("routes:\n  - path: /a\n    mock: {status: 200}\n    slo: {latency_ms: 300, target: 0.999}\n");
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void A_route_on_the_public_metrics_path_is_an_error_and_one_that_matches_it_a_warning()
    {
        var result = Load("""
            observability:
              metrics: {enabled: true, path: /metrics}
            routes:
              - {path: /metrics, mock: {status: 200}}
              - {path: "/*rest", mock: {status: 200}}
              - {path: /other, mock: {status: 200}}
            """);
        var error = Assert.Single(result.Errors);
        Assert.Equal("routes[0].path", error.Path);
        Assert.Equal(4, error.Line);
        Assert.Contains("observability.metrics.path", error.Message, StringComparison.Ordinal);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("routes[1].path", warning.Path);
        Assert.Contains("never this route", warning.Message, StringComparison.Ordinal);

        // Not served on the public port: nothing to shadow.
        Assert.Empty(Load("observability:\n  metrics: {enabled: false, path: /metrics}\nroutes:\n  - {path: /metrics, mock: {status: 200}}\n").Problems);
    }

    [Fact]
    public void Burn_rates_follow_the_windows()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var tracker = new SloTracker(new SloKey("r", 100, 0.99), time);
        Assert.Equal(0, tracker.BurnRate(TimeSpan.FromMinutes(5)));

        // An hour ago: 100 requests, 10 bad. Now: 100 requests, all good.
        for (var i = 0; i < 100; i++)
        {
            tracker.Record(i >= 10);
        }

        time.Advance(TimeSpan.FromHours(1));
        for (var i = 0; i < 100; i++)
        {
            tracker.Record(true);
        }

        Assert.Equal(0, tracker.BurnRate(TimeSpan.FromMinutes(5)));
        // 10 bad of 200 = 5 % against a 1 % budget.
        Assert.Equal(5, tracker.BurnRate(TimeSpan.FromHours(6)), 6);
        time.Advance(TimeSpan.FromHours(6));
        Assert.Equal(0, tracker.BurnRate(TimeSpan.FromHours(6)));
        Assert.True(tracker.IsGood(404, 0.1));
        Assert.False(tracker.IsGood(503, 0.01));
        Assert.False(tracker.IsGood(200, 0.2));
    }

    [Fact]
    public void The_exporter_writes_each_kind_in_the_text_format()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(factory);
        var meter = factory.Create("Test");
        var counter = meter.CreateCounter<long>("test_things_total", description: "Things.\nCounted.");
        var histogram = meter.CreateHistogram<double>("test.wait", unit: "s");
        var updown = meter.CreateUpDownCounter<int>("test.open");
        var gauge = 7.5;
        meter.CreateObservableGauge("test_level", () => gauge, description: "Level");
        counter.Add(2, new KeyValuePair<string, object?>("kind", "a\"b\\c"));
        counter.Add(3, new KeyValuePair<string, object?>("kind", "a\"b\\c"));
        histogram.Record(0.0001);
        histogram.Record(0.002);
        histogram.Record(100);
        updown.Add(3);
        updown.Add(-1);

        // A meter of another factory (another gateway in the same process) is not this exporter's.
        using var otherServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        otherServices.GetRequiredService<IMeterFactory>().Create("Test").CreateCounter<long>("test_foreign_total").Add(1);

        var text = System.Text.Encoding.UTF8.GetString(exporter.Scrape());
        Assert.Contains("# HELP test_things_total Things.\\nCounted.\n# TYPE test_things_total counter\ntest_things_total{kind=\"a\\\"b\\\\c\"} 5\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_wait_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("test_wait_seconds_bucket{le=\"0.0001\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("test_wait_seconds_bucket{le=\"0.0025\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("test_wait_seconds_bucket{le=\"30\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("test_wait_seconds_bucket{le=\"+Inf\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("test_wait_seconds_count 3\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_open gauge\ntest_open 2\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_level gauge\ntest_level 7.5\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("test_foreign_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_series_flood_ends_in_one_overflow_series()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(factory);
        var counter = factory.Create("Test").CreateCounter<long>("test_flood_total");
        for (var i = 0; i < SeriesTable<object>.MaxSeries + 500; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("id", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var samples = MetricsText.Parse(System.Text.Encoding.UTF8.GetString(exporter.Scrape())).Named("test_flood_total");
        Assert.Equal(SeriesTable<object>.MaxSeries + 1, samples.Count);
        Assert.Equal(500, samples.Single(s => s["otel_metric_overflow"] == "true").Value);
    }

    [Fact]
    public async Task Recording_a_request_and_an_attempt_allocates_nothing_once_the_series_exist()
    {
        await using var state = new Gateway.State.LiveState(TimeProvider.System, null);
        var metrics = state.Metrics;
        var slo = new SloTracker(new SloKey("api", 250, 0.999), TimeProvider.System);
        void Record()
        {
            metrics.Requests.Request("api", StatusTags.Method("GET"), 200, 0.004, 128, 2048);
            metrics.Requests.Request("api", StatusTags.Method("BREW"), 503, 0.2, 0, 100);
            metrics.Backends.Attempt("api", "http://10.0.0.7:8080", 200, 0.003);
            metrics.Slo.Record(slo, slo.IsGood(200, 0.004), new KeyValuePair<string, object?>("route", "api"));
        }

        Record();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Record();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var samples = MetricsText.Parse(System.Text.Encoding.UTF8.GetString(state.Exporter!.Scrape()));
        Assert.Equal(1001, samples.Named("gateway_requests_total").Single(s => s["method"] == "GET").Value);
        Assert.Equal(1001, samples.Named("gateway_requests_total").Single(s => s["method"] == "_OTHER").Value);
    }

    [Fact]
    public void Tags_in_another_order_are_the_same_series()
    {
        var table = new SeriesTable<object>(_ => new object());
        var a = table.Get([new("x", "1"), new("y", 2)]);
        var b = table.Get([new("y", 2), new("x", "1")]);
        var c = table.Get([new("x", "1"), new("y", 3)]);
        Assert.Same(a, b);
        Assert.NotSame(a, c);
        Assert.Equal(2, table.Snapshot().Count);
    }
}
