using System.Globalization;
using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.RateLimiting;

/// <summary>A route's limits (the global ones first) and the snapshot's limiter.</summary>
internal sealed record RouteRateLimits(CompiledLimit[] Limits, RateLimiter Limiter);

/// <summary>
/// Rate-limit stage: 429 with <c>Retry-After</c> when a limit is reached, 503 when limits cannot be checked and
/// <c>failure_mode</c> is closed; on the way out the <c>X-RateLimit-*</c> headers, on every response of a limited
/// route. Offline (explain, route tests) nothing is counted.
/// </summary>
internal sealed class RateLimitStage : Stage<RouteRateLimits>
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => RateLimitValidator.Validate(config, diagnostics);

    protected override RouteRateLimits? CompilePolicy(StageCompilation compilation)
    {
        var config = compilation.Config.RateLimiting;
        if (config is { Enabled: false })
        {
            return null;
        }

        var limiter = compilation.Once(static c => new RateLimiter(c.Config.RateLimiting, c.State));
        var global = compilation.Once(static c => new GlobalLimits(Compile(c, "global", c.Config.RateLimiting?.Global ?? [])));
        var own = compilation.RouteConfig!.RateLimit is { Count: > 0 } rules ? Compile(compilation, "route:" + compilation.Route!.Id, rules) : [];
        return global.Limits.Length + own.Length == 0 ? null : new RouteRateLimits([.. global.Limits, .. own], limiter);
    }

    private static CompiledLimit[] Compile(StageCompilation compilation, string scope, List<RateLimitRule> rules)
    {
        var algorithm = RateLimiter.Parse(compilation.Config.RateLimiting?.LocalAlgorithm ?? "token_bucket");
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var limits = new CompiledLimit[rules.Count];
        for (var i = 0; i < rules.Count; i++)
        {
            var fingerprint = CompiledLimit.Fingerprint(rules[i]);
            var copies = seen[fingerprint] = seen.GetValueOrDefault(fingerprint) + 1;
            var name = $"{scope}:{fingerprint}{(copies > 1 ? "#" + copies.ToString(CultureInfo.InvariantCulture) : "")}";
            limits[i] = new CompiledLimit(compilation.State.RateLimits.IdFor(name, algorithm), name, rules[i]);
        }

        return limits;
    }

    protected override ValueTask<bool> Request(Exchange exchange, RouteRateLimits policy)
    {
        if (exchange.Offline)
        {
            return Next;
        }

        var limiter = policy.Limiter;
        if (!limiter.UsesRedis)
        {
            return new ValueTask<bool>(Decide(exchange, limiter.Metrics, limiter.EvaluateLocal(policy.Limits, exchange)));
        }

        return EvaluateAsync(exchange, policy);
    }

    private static async ValueTask<bool> EvaluateAsync(Exchange exchange, RouteRateLimits policy) =>
        Decide(exchange, policy.Limiter.Metrics, await policy.Limiter.EvaluateAsync(policy.Limits, exchange).ConfigureAwait(false));

    private static bool Decide(Exchange exchange, RateLimitMetrics metrics, RateLimitOutcome outcome)
    {
        exchange.RateLimit = outcome;
        if (outcome.Allowed)
        {
            return true;
        }

        var retryAfter = RateLimitHeaders.Seconds(outcome.Reset).ToString(CultureInfo.InvariantCulture);
        if (outcome.Unavailable)
        {
            exchange.Respond(Problems.Create(exchange, StatusCodes.Status503ServiceUnavailable, AnswerReasons.RateLimitUnavailable,
                "urn:gateway:problem:rate-limit-unavailable", "Service Unavailable",
                "Rate limits cannot be checked right now (failure_mode: closed).", HeaderNames.RetryAfter, retryAfter));
            return false;
        }

        metrics.Limited(exchange.Route!.Id, outcome.Refusing!.DimensionLabel);
        exchange.Respond(Problems.Create(exchange, StatusCodes.Status429TooManyRequests, outcome.Refusing.Reason, "urn:gateway:problem:rate-limited", "Too Many Requests",
            $"Rate limit reached ({outcome.Refusing.Description}); retry after {retryAfter} s.", HeaderNames.RetryAfter, retryAfter));
        return false;
    }

    protected override void Response(Exchange exchange, RouteRateLimits policy) => RateLimitHeaders.Apply(exchange.Client.ResponseHeaders, exchange.RateLimit);

    protected override string? Describe(RouteRateLimits policy) =>
        "rate_limit(" + string.Join(", ", policy.Limits.Select(l => (l.Scope.StartsWith("global", StringComparison.Ordinal) ? "global " : "") + l.Description)) + ")";

    private sealed record GlobalLimits(CompiledLimit[] Limits);
}
