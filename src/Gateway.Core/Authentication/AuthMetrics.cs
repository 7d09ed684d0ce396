using System.Diagnostics.Metrics;

namespace Gateway.Authentication;

/// <summary>Authentication attempts and failures by method and reason.</summary>
internal sealed class AuthMetrics(Meter meter)
{
    private readonly Counter<long> _attempts = meter.CreateCounter<long>("gateway_auth_attempts_total", description: "Authentication attempts by method and result.");
    private readonly Counter<long> _failures = meter.CreateCounter<long>("gateway_auth_failures_total", description: "Authentication failures by method and reason.");

    public void Success(string method) =>
        _attempts.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("result", "success"));

    public void Forbidden(string method) =>
        _failures.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("reason", "forbidden"));

    public void Failure(string method, string reason)
    {
        _attempts.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("result", "failure"));
        _failures.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("reason", reason));
    }
}
