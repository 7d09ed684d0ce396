using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;

namespace Gateway.Observability.Metrics;

/// <summary>The metrics stage's policy: where requests are counted, the public scrape path if any, each route's SLO tracker.</summary>
/// <param name="Metrics">The gateway's instruments.</param>
/// <param name="Exporter">What the public scrape path answers (null offline).</param>
/// <param name="PublicPath">The public port's scrape path when <c>observability.metrics.enabled</c>, else null.</param>
/// <param name="Slos">The SLO tracker of each route, by <see cref="CompiledRoute.Index"/> (null where a route has no SLO).</param>
internal sealed record MetricsPolicy(GatewayMetrics Metrics, PrometheusExporter? Exporter, string? PublicPath, SloTracker?[] Slos);

/// <summary>
/// Counts every request once, when its exchange is over, whichever codec carried it and however it was answered
/// (a backend's response, a mock, an early refusal): <c>gateway_requests_total</c>, the duration and size histograms,
/// and the route's SLO events. It runs before the limits stage so that requests refused there are counted too, and
/// answers the public scrape path (<c>observability.metrics.path</c>) before any route can.
/// Labels are the route id (<see cref="RequestMetrics.Unmatched"/> before or without a match), a known method name
/// and the status: nothing a client writes becomes a label value.
/// </summary>
internal sealed class MetricsStage : Stage<MetricsPolicy>
{
    public override StageScope Scope => StageScope.Request;

    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory)
    {
        // Routes that the public scrape path shadows (the SLO keys are checked with the route, by RouteValidator).
        if (config.Observability?.Metrics is not { Enabled: true, Path: var path } || !path.StartsWith('/'))
        {
            return;
        }

        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (!RoutePattern.TryParse(config.Routes[i].Path, out var pattern, out _) || !pattern!.TryMatch(path, out _))
            {
                continue;
            }

            if (pattern.IsExact)
            {
                diagnostics.Error($"routes[{i}].path", $"'{path}' is observability.metrics.path, where the gateway answers GET and HEAD with its metrics; give the route or the metrics another path");
            }
            else
            {
                diagnostics.Warning($"routes[{i}].path", $"also matches observability.metrics.path '{path}': GET and HEAD on it get the gateway's metrics, never this route");
            }
        }
    }

    protected override MetricsPolicy CompilePolicy(StageCompilation compilation)
    {
        var state = compilation.State;
        var slos = new SloTracker?[compilation.Routes.Count];
        foreach (var route in compilation.Routes)
        {
            if (route.Source.Slo is { } slo)
            {
                slos[route.Index] = state.Slos.GetOrAdd(new SloKey(route.Id, slo.LatencyMs, slo.Target), key => new SloTracker(key, state.Time));
            }
        }

        var path = compilation.Config.Observability?.Metrics is { Enabled: true } metrics ? metrics.Path : null;
        return new MetricsPolicy(state.Metrics, state.Exporter, path, slos);
    }

    protected override ValueTask<bool> Request(Exchange exchange, MetricsPolicy policy)
    {
        if (policy.PublicPath is { } path && policy.Exporter is { } exporter && (HttpMethods.IsGet(exchange.Method) || exchange.IsHead)
            && string.Equals(exchange.Path, path, StringComparison.Ordinal))
        {
            exchange.Respond(new Answer(StatusCodes.Status200OK, exporter.Scrape(), PrometheusExporter.ContentType) { NoStore = true, Reason = AnswerReasons.Metrics });
            return Stop;
        }

        return Next;
    }

    protected override void Completed(Exchange exchange, MetricsPolicy policy)
    {
        if (exchange.Offline)
        {
            return;
        }

        var client = exchange.Client;
        var status = client.Status;
        var route = exchange.Route;
        var routeId = route?.Id ?? RequestMetrics.Unmatched;
        var seconds = exchange.Time.GetElapsedTime(exchange.StartTimestamp).TotalSeconds;
        var responseBytes = exchange.ResponseBytes ?? (exchange.IsHead || status is 204 or 304 ? 0 : client.ResponseContentLength ?? 0);
        policy.Metrics.Requests.Request(routeId, StatusTags.Method(exchange.Method), status, seconds,
            exchange.RequestBytes ?? exchange.RequestContentLength ?? 0, responseBytes);
        if (route is not null && (uint)route.Index < (uint)policy.Slos.Length && policy.Slos[route.Index] is { } tracker)
        {
            policy.Metrics.Slo.Record(tracker, tracker.IsGood(status, seconds), new KeyValuePair<string, object?>("route", routeId));
        }
    }
}
