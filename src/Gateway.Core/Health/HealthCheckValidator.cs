using Gateway.Configuration;
using Gateway.Configuration.Validation;

namespace Gateway.Health;

/// <summary>Health checks of every route.</summary>
internal static class HealthCheckValidator
{
    public static void Validate(GatewayConfig config, ConfigDiagnostics d)
    {
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var path = $"routes[{i}]";
            if (route.HealthCheck is { } hc)
            {
                ValidationRules.Positive(d, path + ".health_check.interval_secs", hc.IntervalSecs);
                ValidationRules.Timeout(d, path + ".health_check.timeout_secs", hc.TimeoutSecs);
                ValidationRules.InRange(d, path + ".health_check.unhealthy_threshold", hc.UnhealthyThreshold, 1, 1000);
                ValidationRules.InRange(d, path + ".health_check.healthy_threshold", hc.HealthyThreshold, 1, 1000);
                ValidationRules.StatusCode(d, path + ".health_check.expected_status", hc.ExpectedStatus);
                if (!hc.Path.StartsWith('/'))
                {
                    d.Error(path + ".health_check.path", "must start with '/'");
                }

                ValidationRules.Timeout(d, path + ".health_check.ejection_secs", hc.EjectionSecs);
                if (hc.TimeoutSecs >= hc.IntervalSecs)
                {
                    d.Warning(path + ".health_check.timeout_secs", $"is not shorter than interval_secs ({hc.IntervalSecs}); a slow backend is then probed back to back");
                }

                if (route.Mock is not null)
                {
                    d.Warning(path + ".health_check", "has no effect on a mock route");
                }
            }
        }
    }
}
