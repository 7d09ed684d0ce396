using System.Diagnostics;
using System.Net;
using Gateway.Tests.Observability.Otlp;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Observability;

/// <summary>
/// Spans as OpenTelemetry gets them (the in-memory exporter), the trace context backends receive, sampling, and the
/// OTLP exporters on the wire. Backends and collectors are real servers on loopback.
/// </summary>
public sealed class TracingTests : IDisposable
{
    /// <summary>A refused loopback port: the gateway's own OTLP exporter fails quietly while the in-memory exporter listens.</summary>
    private static readonly string Nowhere = $"http://127.0.0.1:{RawBackend.RefusedPort()}";

    private readonly SpanCollector _spans = new();

    public void Dispose() => _spans.Dispose();

    private static string Tracing(double rate, string? endpoint = null, string protocol = "grpc") => $$"""
        observability:
          tracing:
            enabled: true
            otlp_endpoint: "{{endpoint ?? Nowhere}}"
            protocol: {{protocol}}
            service_name: edge
            service_version: 9.8.7
            sample_rate: {{rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}}

        """;

    [Fact]
    public async Task A_made_up_method_never_names_a_span_or_a_tag_value()
    {
        await using var gateway = await TestGateway.StartAsync(Tracing(1) + """
            routes:
              - {id: any, path: /any, mock: {status: 200}}
            """);
        var (trace, parent) = NewParent(sampled: true);
        using var request = new HttpRequestMessage(new HttpMethod("XYZRANDOM123"), "/any");
        request.Headers.TryAddWithoutValidation("traceparent", parent);
        using var response = await gateway.Client.SendAsync(request);
        var server = Assert.Single(await _spans.TraceAsync(trace, 1));
        Assert.Equal("HTTP any", server.DisplayName);
        Assert.Equal("_OTHER", server.GetTagItem("http.request.method"));
        Assert.Equal("XYZRANDOM123", server.GetTagItem("http.request.method_original"));
    }

    private static (ActivityTraceId Trace, string Header) NewParent(bool sampled)
    {
        var trace = ActivityTraceId.CreateRandom();
        return (trace, $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-{(sampled ? "01" : "00")}");
    }

    private static async Task<EchoedRequest> GetAsync(HttpClient client, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path) { Version = client.DefaultRequestVersion, VersionPolicy = client.DefaultVersionPolicy };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await EchoedRequest.ReadAsync(response);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_request_has_a_server_span_and_the_backend_gets_the_trace_with_the_client_spans_id(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Tracing(1) + $$"""
            routes:
              - id: echo
                path: /api/*rest
                backend: "{{backend.Url}}"
            """);
        var (trace, parent) = NewParent(sampled: true);
        var echo = await GetAsync(gateway.Client, "/api/items?secret=s3cr3t", ("traceparent", parent), ("tracestate", "vendor=abc"), ("baggage", "tenant=7"));

        var spans = await _spans.TraceAsync(trace, 2);
        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var client = Assert.Single(spans, s => s.Kind == ActivityKind.Client);

        // The server span continues the client's trace under its span; the client span is the server span's child.
        Assert.Equal(parent[36..52], server.ParentSpanId.ToHexString());
        Assert.Equal(server.SpanId, client.ParentSpanId);
        Assert.Equal("vendor=abc", server.TraceStateString);

        // The backend's parent is the client span: same trace, a span id that is neither the client's nor the server span's.
        Assert.Equal($"00-{trace.ToHexString()}-{client.SpanId.ToHexString()}-01", echo.Header("traceparent"));
        Assert.Equal("vendor=abc", echo.Header("tracestate"));
        Assert.Equal("tenant=7", echo.Header("baggage"));

        Assert.Equal("GET echo", server.DisplayName);
        Assert.Equal("GET", server.GetTagItem("http.request.method"));
        Assert.Equal("/api/items", server.GetTagItem("url.path"));
        Assert.Equal("echo", server.GetTagItem("http.route"));
        Assert.Equal(200, server.GetTagItem("http.response.status_code"));
        Assert.Null(server.GetTagItem("error.type"));
        Assert.Equal("127.0.0.1", client.GetTagItem("server.address"));
        Assert.Equal(backend.Port, client.GetTagItem("server.port"));
        Assert.Equal(200, client.GetTagItem("http.response.status_code"));
        Assert.Null(client.GetTagItem("http.request.resend_count"));
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), t => t.Value?.ToString()?.Contains("s3cr3t", StringComparison.Ordinal) == true);

        // The access log names the same trace.
        var line = Assert.Single(await Gateway.Tests.Logging.AccessLines.JsonAsync(gateway, 1));
        Assert.Equal(trace.ToHexString(), line.GetProperty("trace_id").GetString());
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Each_attempt_is_a_client_span_of_its_own_and_a_retry_shows(string codec)
    {
        var served = 0;
        RequestDelegate firstFails = async context =>
        {
            if (Interlocked.Increment(ref served) == 1)
            {
                context.Response.StatusCode = 503;
                return;
            }

            await TestBackend.EchoAsync(context);
        };
        await using var a = await TestBackend.StartAsync(firstFails);
        await using var b = await TestBackend.StartAsync(firstFails);
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, Tracing(1) + $$"""
            routes:
              - id: retried
                path: /api/*rest
                backends: [{url: "{{a.Url}}"}, {url: "{{b.Url}}"}]
                retry: {max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 5}
            """);
        var (trace, parent) = NewParent(sampled: true);
        var echo = await GetAsync(gateway.Client, "/api/x", ("traceparent", parent));

        var spans = await _spans.TraceAsync(trace, 3);
        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var attempts = spans.Where(s => s.Kind == ActivityKind.Client).OrderBy(s => s.StartTimeUtc).ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.All(attempts, s => Assert.Equal(server.SpanId, s.ParentSpanId));
        Assert.Equal(503, attempts[0].GetTagItem("http.response.status_code"));
        Assert.Equal("503", attempts[0].GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal(200, attempts[1].GetTagItem("http.response.status_code"));
        Assert.Equal(1, attempts[1].GetTagItem("http.request.resend_count"));
        Assert.NotEqual(attempts[0].GetTagItem("server.port"), attempts[1].GetTagItem("server.port"));

        // The backend that answered names the second attempt as its parent.
        Assert.Equal($"00-{trace.ToHexString()}-{attempts[1].SpanId.ToHexString()}-01", echo.Header("traceparent"));
        Assert.Equal(200, server.GetTagItem("http.response.status_code"));
    }

    [Fact]
    public async Task A_failed_attempt_names_its_failure_and_the_server_span_the_gateways_reason()
    {
        var dead = $"http://127.0.0.1:{RawBackend.RefusedPort()}";
        await using var gateway = await TestGateway.StartAsync(Tracing(1) + $$"""
            routes:
              - id: down
                path: /down
                backend: "{{dead}}"
            """);
        var (trace, parent) = NewParent(sampled: true);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/down");
        request.Headers.TryAddWithoutValidation("traceparent", parent);
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);

        var spans = await _spans.TraceAsync(trace, 2);
        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var client = Assert.Single(spans, s => s.Kind == ActivityKind.Client);
        Assert.Equal("connect", client.GetTagItem("error.type"));
        Assert.Null(client.GetTagItem("http.response.status_code"));
        Assert.Equal(502, server.GetTagItem("http.response.status_code"));
        Assert.Equal("upstream_connect_refused", server.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, server.Status);
    }

    [Fact]
    public async Task Http2_requests_have_the_same_spans()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync("server:\n  host: 127.0.0.1\n  port: 0\n  http2: true\n" + Tracing(1) + $$"""
            routes:
              - id: h2
                path: /h2
                backend: "{{backend.Url}}"
            """);
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, BaseAddress = gateway.Client.BaseAddress };
        var (trace, parent) = NewParent(sampled: true);
        var echo = await GetAsync(client, "/h2", ("traceparent", parent));

        var spans = await _spans.TraceAsync(trace, 2);
        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var upstream = Assert.Single(spans, s => s.Kind == ActivityKind.Client);
        Assert.Equal("2", server.GetTagItem("network.protocol.version"));
        Assert.Equal(server.SpanId, upstream.ParentSpanId);
        Assert.Equal($"00-{trace.ToHexString()}-{upstream.SpanId.ToHexString()}-01", echo.Header("traceparent"));
    }

    [Theory]
    [InlineData("b3", "{0}-{1}-1")]
    [InlineData("b3", "{0}-{1}")]
    [InlineData("X-B3-TraceId", "multi")]
    public async Task A_b3_trace_is_continued_in_w3c_words(string header, string format)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Tracing(1) + $$"""
            routes:
              - path: /b3
                backend: "{{backend.Url}}"
            """);
        // A 64-bit B3 trace id: the W3C trace id is it with zeros in front.
        var shortTrace = ActivitySpanId.CreateRandom().ToHexString();
        var parentSpan = ActivitySpanId.CreateRandom().ToHexString();
        var headers = format == "multi"
            ? new[] { ("X-B3-TraceId", shortTrace), ("X-B3-SpanId", parentSpan), ("X-B3-Sampled", "1") }
            : [(header, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, shortTrace, parentSpan))];
        var echo = await GetAsync(gateway.Client, "/b3", headers);

        var trace = ActivityTraceId.CreateFromString("0000000000000000" + shortTrace);
        var spans = await _spans.TraceAsync(trace, 2);
        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        Assert.Equal(parentSpan, server.ParentSpanId.ToHexString());
        var client = Assert.Single(spans, s => s.Kind == ActivityKind.Client);
        Assert.Equal($"00-{trace.ToHexString()}-{client.SpanId.ToHexString()}-01", echo.Header("traceparent"));
    }

    [Fact]
    public async Task Sampling_follows_a_parents_decision_and_the_rate_decides_new_traces()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var never = await TestGateway.StartAsync(Tracing(0) + $$"""
            routes:
              - path: /s
                backend: "{{backend.Url}}"
            """);
        await using var always = await TestGateway.StartAsync(Tracing(1) + $$"""
            routes:
              - path: /s
                backend: "{{backend.Url}}"
            """);

        // Rate 0: a new trace has no span, yet the backend still gets a trace context (not sampled) and the log its id.
        var roots = new List<ActivityTraceId>();
        for (var i = 0; i < 20; i++)
        {
            var echo = await GetAsync(never.Client, "/s");
            var traceParent = echo.Header("traceparent")!;
            Assert.EndsWith("-00", traceParent, StringComparison.Ordinal);
            roots.Add(ActivityTraceId.CreateFromString(traceParent.AsSpan(3, 32)));
        }

        // Rate 0 with a sampled parent: parent-based, so it is recorded.
        var (sampledTrace, sampledParent) = NewParent(sampled: true);
        var continued = await GetAsync(never.Client, "/s", ("traceparent", sampledParent));
        Assert.EndsWith("-01", continued.Header("traceparent"), StringComparison.Ordinal);
        Assert.Equal(2, (await _spans.TraceAsync(sampledTrace, 2)).Length);

        // Rate 1 with a parent that was not sampled: no span, the trace id goes on with a new span id.
        var (unsampledTrace, unsampledParent) = NewParent(sampled: false);
        var notSampled = (await GetAsync(always.Client, "/s", ("traceparent", unsampledParent))).Header("traceparent")!;
        Assert.StartsWith($"00-{unsampledTrace.ToHexString()}-", notSampled, StringComparison.Ordinal);
        Assert.NotEqual(unsampledParent, notSampled);
        Assert.EndsWith("-00", notSampled, StringComparison.Ordinal);

        // Rate 1, new traces: every one recorded.
        var recorded = new List<ActivityTraceId>();
        for (var i = 0; i < 5; i++)
        {
            var traceParent = (await GetAsync(always.Client, "/s")).Header("traceparent")!;
            Assert.EndsWith("-01", traceParent, StringComparison.Ordinal);
            recorded.Add(ActivityTraceId.CreateFromString(traceParent.AsSpan(3, 32)));
        }

        foreach (var trace in recorded)
        {
            Assert.Equal(2, (await _spans.TraceAsync(trace, 2)).Length);
        }

        // (Checked last, once the sampled requests' spans have all ended: none of the rate-0 roots has any.)
        Assert.All(roots.Append(unsampledTrace), trace => Assert.Empty(_spans.Ended(trace)));
    }

    [Fact]
    public async Task With_tracing_off_no_span_is_made_and_the_trace_goes_on_as_before()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            routes:
              - path: /off
                backend: "{{backend.Url}}"
            """);
        var (trace, parent) = NewParent(sampled: true);
        var echo = await GetAsync(gateway.Client, "/off", ("traceparent", parent), ("tracestate", "k=v"));

        // The trace id and flags go on, under a span id of the gateway's hop; tracestate with it.
        var sent = echo.Header("traceparent")!;
        Assert.StartsWith($"00-{trace.ToHexString()}-", sent, StringComparison.Ordinal);
        Assert.EndsWith("-01", sent, StringComparison.Ordinal);
        Assert.NotEqual(parent, sent);
        Assert.Equal("k=v", echo.Header("tracestate"));
        Assert.Null(gateway.Host.Store.Current.StagePolicies[Gateway.Pipeline.GatewayFeatures.IndexOf<Gateway.Observability.TracingStage>()]);
        await Task.Delay(200);
        Assert.Empty(_spans.Ended(trace));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_huge_tracestate_or_baggage_is_dropped_and_never_recorded(bool tracing)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync((tracing ? Tracing(1) : "") + $$"""
            routes:
              - path: /big
                backend: "{{backend.Url}}"
            """);
        var (trace, parent) = NewParent(sampled: true);
        var state = "v=" + new string('a', 600);
        var baggage = "k=" + new string('b', 9000);
        var echo = await GetAsync(gateway.Client, "/big", ("traceparent", parent), ("tracestate", state), ("baggage", baggage));
        Assert.Null(echo.Header("tracestate"));
        Assert.Null(echo.Header("baggage"));
        if (tracing)
        {
            var server = Assert.Single(await _spans.TraceAsync(trace, 2), s => s.Kind == ActivityKind.Server);
            Assert.Null(server.TraceStateString);
        }
    }

    [Theory]
    [InlineData("http/protobuf")]
    [InlineData("grpc")]
    public async Task The_otlp_exporter_sends_the_spans_to_the_collector(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync(grpc: protocol == "grpc");
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Tracing(1, receiver.Url, protocol) + $$"""
            routes:
              - id: wire
                path: /wire
                backend: "{{backend.Url}}"
            """);
        var (trace, parent) = NewParent(sampled: true);
        var echo = await GetAsync(gateway.Client, "/wire", ("traceparent", parent));
        // Stopping flushes the exporter's batch.
        await gateway.StopAsync();

        var spans = await receiver.TraceAsync(trace.ToHexString().Chunk(2).Select(c => Convert.ToByte(new string(c), 16)).ToArray(), 2);
        Assert.Equal(2, spans.Count);
        Assert.All(receiver.ContentTypes, t => Assert.StartsWith(protocol == "grpc" ? "application/grpc" : "application/x-protobuf", t, StringComparison.Ordinal));
        var (resource, scope, server) = Assert.Single(spans, s => s.Span.Kind == Span.Types.SpanKind.Server);
        var client = Assert.Single(spans, s => s.Span.Kind == Span.Types.SpanKind.Client).Span;
        Assert.Equal("edge", Attribute(resource.Attributes, "service.name"));
        Assert.Equal("9.8.7", Attribute(resource.Attributes, "service.version"));
        Assert.Equal(Gateway.Observability.TraceExport.SourceName, scope.Name);
        Assert.Equal("GET wire", server.Name);
        Assert.Equal(parent[36..52], Convert.ToHexStringLower(server.ParentSpanId.Span));
        Assert.Equal(server.SpanId, client.ParentSpanId);
        Assert.Equal("wire", Attribute(server.Attributes, "http.route"));
        Assert.Equal(200L, server.Attributes.Single(a => a.Key == "http.response.status_code").Value.IntValue);
        Assert.Equal("127.0.0.1", Attribute(client.Attributes, "server.address"));
        Assert.True(server.EndTimeUnixNano >= server.StartTimeUnixNano && server.StartTimeUnixNano <= client.StartTimeUnixNano);
        Assert.Equal($"00-{trace.ToHexString()}-{Convert.ToHexStringLower(client.SpanId.Span)}-01", echo.Header("traceparent"));
    }

    [Fact]
    public async Task A_reload_turns_tracing_on_and_off_and_changes_the_rate()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var directory = Directory.CreateTempSubdirectory("gateway-tracing-").FullName;
        try
        {
            var path = Path.Combine(directory, "gateway.yaml");
            string Config(string tracing) => "server: {host: 127.0.0.1, port: 0}\nadmin: {host: 127.0.0.1, port: 0}\n" + tracing
                + $"routes:\n  - {{path: /r, backend: \"{backend.Url}\"}}\n";
            File.WriteAllText(path, Config(""));
            await using var gateway = await TestGateway.StartFromFileAsync(path);
            async Task<ActivityTraceId> RootAsync()
            {
                var traceParent = (await GetAsync(gateway.Client, "/r")).Header("traceparent")!;
                return ActivityTraceId.CreateFromString(traceParent.AsSpan(3, 32));
            }

            var before = await RootAsync();

            File.WriteAllText(path, Config(Tracing(1)));
            Assert.True(gateway.Host.Reload("test").Applied);
            var traced = await RootAsync();
            Assert.Equal(2, (await _spans.TraceAsync(traced, 2)).Length);

            File.WriteAllText(path, Config(Tracing(0)));
            Assert.True(gateway.Host.Reload("test").Applied);
            var unsampled = await RootAsync();

            File.WriteAllText(path, Config(""));
            Assert.True(gateway.Host.Reload("test").Applied);
            var after = await RootAsync();

            // (Checked once the traced request's spans have ended: the others have none.)
            Assert.All(new[] { before, unsampled, after }, trace => Assert.Empty(_spans.Ended(trace)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Attribute(IEnumerable<KeyValue> attributes, string key) => attributes.Single(a => a.Key == key).Value.StringValue;
}
