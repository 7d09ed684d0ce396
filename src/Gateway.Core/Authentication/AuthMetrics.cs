using System.Diagnostics.Metrics;

namespace Gateway.Authentication;

/// <summary>Authentication attempts and failures by method and reason (exported by the observability work).</summary>
internal static class AuthMetrics
{
    public static readonly Meter Meter = new("Gateway.Authentication");

    private static readonly Counter<long> Attempts = Meter.CreateCounter<long>("gateway_auth_attempts_total", description: "Authentication attempts by method and result.");
    private static readonly Counter<long> Failures = Meter.CreateCounter<long>("gateway_auth_failures_total", description: "Authentication failures by method and reason.");

    public static void Success(string method) =>
        Attempts.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("result", "success"));

    public static void Forbidden(string method) =>
        Failures.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("reason", "forbidden"));

    public static void Failure(string method, string reason)
    {
        Attempts.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("result", "failure"));
        Failures.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("reason", reason));
    }
}
