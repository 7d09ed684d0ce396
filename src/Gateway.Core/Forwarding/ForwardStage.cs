using System.Net;
using Gateway.Configuration;
using Gateway.Health;
using Gateway.LoadBalancing;
using Gateway.Pipeline;
using Gateway.Resilience;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding;

/// <summary>A route's target: a fixed answer, or its backends.</summary>
internal sealed record ForwardPolicy(MockResponse? Mock, UpstreamRoute? Upstream);

/// <summary>
/// The last stage: answers a mock route itself, or takes the request to the route's backends (<see cref="UpstreamCall"/>).
/// Offline it picks the backend the balancer would pick and describes the upstream request instead of sending it.
/// </summary>
internal sealed class ForwardStage : Stage<ForwardPolicy>
{
    public override IEnumerable<UnenforcedKey> NotEnforced =>
    [
        new("websocket", "the route refuses upgrades with 503 until it is (its plain requests are served)", null, r => r.Websocket is not null),
    ];

    protected override ForwardPolicy CompilePolicy(StageCompilation compilation)
    {
        var route = compilation.RouteConfig!;
        if (route.Mock is { } mock)
        {
            return new ForwardPolicy(new MockResponse(mock.Status, mock.Headers, mock.Body), null);
        }

        var config = compilation.Config;
        var timeout = TimeSpan.FromSeconds(route.TimeoutSecs ?? config.Server.TimeoutSecs);
        var breakerConfig = route.CircuitBreaker ?? config.CircuitBreaker;
        if (breakerConfig?.RequestTimeoutSecs is double attemptTimeout && attemptTimeout < timeout.TotalSeconds)
        {
            timeout = TimeSpan.FromSeconds(attemptTimeout);
        }

        var health = route.HealthCheck is { Enabled: true } or { PassiveEnabled: true } ? route.HealthCheck : null;
        var targets = route.Backend is { } single ? [new BackendConfig { Url = single }] : route.Backends ?? [];
        var state = compilation.State;
        var pool = state.Upstream.Http1;
        var backends = new Backend[targets.Count];
        for (var i = 0; i < targets.Count; i++)
        {
            var url = new Uri(targets[i].Url, UriKind.Absolute);
            var name = Backend.NameOf(url);
            // The pool is named for every backend that uses it, kept or new, so a reload never retires one in use.
            var endpoint = pool is not null && url.Scheme == Uri.UriSchemeHttp ? pool.For(url) : null;
            backends[i] = state.Backends.GetOrAdd(new BackendKey(compilation.Route!.Id, name, health, breakerConfig), key => new Backend(
                targets[i].Url,
                new BackendHealth(key.Health, state.Time),
                key.Breaker is { } breaker ? new CircuitBreaker(breaker, state.Time, to => state.Metrics.Backends.Transition(key.Name, to)) : null,
                endpoint)
            {
                Route = key.Route,
            });
        }

        var group = new BackendGroup(backends, [.. targets.Select(t => t.Weight)], route.LoadBalancer?.Strategy ?? "round_robin",
            route.LoadBalancer?.HashOn, route.HealthCheck?.PanicMode ?? false);
        var (version, versionPolicy) = route.BackendProtocol switch
        {
            // h2c: HTTP/2 with prior knowledge on cleartext (gRPC without TLS); http1 pins HTTP/1.1; http2 or unset
            // offers HTTP/2 through ALPN on TLS and uses HTTP/1.1 otherwise.
            "h2c" => (HttpVersion.Version20, HttpVersionPolicy.RequestVersionExact),
            "http1" => (HttpVersion.Version11, HttpVersionPolicy.RequestVersionExact),
            _ => (HttpVersion.Version20, HttpVersionPolicy.RequestVersionOrLower),
        };
        var yarp = state.Upstream.Yarp;
        var direct = state.Upstream.Direct;
        if (route.TlsUpstream is { } upstreamTls)
        {
            // The route's own CA, client certificate or name: its own HttpClient pool (the own HTTP/1.1 client is plain HTTP only).
            (yarp, direct) = state.Upstream.ForTls(new Tls.UpstreamTls(upstreamTls));
        }

        var http1 = pool is not null && route.BackendProtocol != "h2c" && backends.All(b => b.Url.Scheme == Uri.UriSchemeHttp);
        return new ForwardPolicy(null, new UpstreamRoute
        {
            RouteId = compilation.Route!.Id,
            Metrics = state.Metrics.Backends,
            Backends = group,
            Retry = (route.Retry ?? config.Retry) is { MaxRetries: > 0 } retry
                ? new RetryPolicy(retry, state.RetryBudgets.GetOrAdd((compilation.Route!.Id, retry.BudgetRatio), key => new RetryBudget(key.Ratio, state.Time)))
                : null,
            Timeout = timeout,
            Shape = compilation.Upstream!.Build(),
            Sender = http1 ? state.Upstream.Http1Sender! : yarp,
            Fallback = http1 ? yarp : null,
            Direct = direct,
            Version = version,
            VersionPolicy = versionPolicy,
            RequestConfig = new ForwarderRequestConfig { ActivityTimeout = timeout, Version = version, VersionPolicy = versionPolicy },
        });
    }

    protected override ValueTask<bool> Request(Exchange exchange, ForwardPolicy policy)
    {
        if (policy.Mock is { } mock)
        {
            exchange.Respond(mock.Answer);
            return Stop;
        }

        var upstream = policy.Upstream!;
        if (exchange.Offline)
        {
            exchange.Plan = UpstreamPlanner.Plan(exchange, upstream);
            return Stop;
        }

        return UpstreamCall.ForwardAsync(exchange, upstream);
    }

    protected override string? Describe(ForwardPolicy policy)
    {
        if (policy.Upstream is not { } upstream)
        {
            return null;
        }

        var parts = new List<string> { $"timeout={upstream.Timeout.TotalSeconds:0.###}s" };
        var source = upstream.Shape.Route.Source;
        if (source.HealthCheck is { Enabled: true } or { PassiveEnabled: true })
        {
            var health = source.HealthCheck;
            parts.Add("health(" + string.Join('+', new[] { health.Enabled ? "active" : null, health.PassiveEnabled ? "passive" : null }.OfType<string>())
                + (health.PanicMode ? ",panic" : "") + ")");
        }

        if (upstream.Backends.Backends[0].Breaker is { } breaker)
        {
            parts.Add($"breaker({breaker.Config.FailureThreshold} fails/{breaker.Config.TimeoutSecs:0.###}s)");
        }

        if (upstream.Retry is { } retry)
        {
            parts.Add($"retry({retry.MaxRetries})");
        }

        return string.Join(' ', parts);
    }
}
