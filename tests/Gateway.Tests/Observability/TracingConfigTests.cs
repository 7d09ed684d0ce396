using Gateway.Configuration;
using Gateway.Observability;
using OpenTelemetry.Exporter;

namespace Gateway.Tests.Observability;

/// <summary>The tracing keys: validated at their location, and the exporter's address as OTLP has it.</summary>
public sealed class TracingConfigTests
{
    private static ConfigLoadResult Load(string tracing) =>
        ConfigLoader.LoadText("observability:\n  tracing:\n" + tracing, "test.yaml", Directory.GetCurrentDirectory());

    [Theory]
    [InlineData("    enabled: true\n    otlp_endpoint: http://c:4317\n    sample_rate: 1.5\n", "test.yaml:5:18: observability.tracing.sample_rate: must be between 0 and 1 (got 1.5)")]
    [InlineData("    enabled: true\n    otlp_endpoint: http://c:4317\n    sample_rate: -0.1\n", "test.yaml:5:18: observability.tracing.sample_rate: must be between 0 and 1 (got -0.1)")]
    [InlineData("    enabled: true\n    otlp_endpoint: http://c:4317\n    protocol: http\n", "test.yaml:5:15: observability.tracing.protocol: 'http' is not one of: grpc, http/protobuf")]
    [InlineData("    enabled: true\n    otlp_endpoint: http://c:4317\n    service_name: \"\"\n", "test.yaml:5:19: observability.tracing.service_name: must not be empty: it names the gateway in every trace")]
    public void A_bad_tracing_key_is_an_error_at_its_location(string tracing, string expected) =>
        Assert.Equal(expected, Assert.Single(Load(tracing).Errors).ToString());

    [Fact]
    public void Tracing_is_no_longer_warned_about_as_not_enforced()
    {
        var result = Load("    enabled: true\n    otlp_endpoint: http://c:4318\n    protocol: http/protobuf\n    sample_rate: 0.1\nroutes:\n  - {path: /, mock: {status: 200}}\n");
        Assert.Empty(result.Problems);
    }

    [Theory]
    [InlineData("http://c:4318", "http/protobuf", "http://c:4318/v1/traces")]
    [InlineData("http://c:4318/", "http/protobuf", "http://c:4318/v1/traces")]
    [InlineData("http://c:4318/custom/traces", "http/protobuf", "http://c:4318/custom/traces")]
    [InlineData("http://c:4317", "grpc", "http://c:4317/")]
    public void The_http_exporter_posts_to_v1_traces_unless_told_a_path(string endpoint, string protocol, string expected) =>
        Assert.Equal(expected, TraceExport.EndpointOf(endpoint, protocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf).ToString());
}
