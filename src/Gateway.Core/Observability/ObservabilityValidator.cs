using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Observability;

/// <summary>Metrics and tracing.</summary>
internal static class ObservabilityValidator
{
    private static readonly string[] Protocols = KnownValuesAttribute.Of<TracingConfig>(nameof(TracingConfig.Protocol));

    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        if (config.Observability is { } obs)
        {
            if (obs.Metrics is { } metrics && !metrics.Path.StartsWith('/'))
            {
                d.Error("observability.metrics.path", "must start with '/'");
            }

            if (obs.Tracing is { } tracing)
            {
                ValidationRules.InRange(d, "observability.tracing.sample_rate", tracing.SampleRate, 0, 1);
                ValidationRules.OneOf(d, "observability.tracing.protocol", tracing.Protocol, Protocols);
                if (string.IsNullOrWhiteSpace(tracing.ServiceName))
                {
                    d.Error("observability.tracing.service_name", "must not be empty: it names the gateway in every trace");
                }

                if (tracing.Enabled || tracing.OtlpEndpoint is not null)
                {
                    ValidationRules.HttpUrl(d, "observability.tracing.otlp_endpoint", tracing.OtlpEndpoint);
                }
            }
        }
    }
}
