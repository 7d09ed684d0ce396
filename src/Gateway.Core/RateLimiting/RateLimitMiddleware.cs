using System.Globalization;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Gateway.RateLimiting;

/// <summary>Rate-limit stage: 429 with <c>Retry-After</c> when a limit is reached; the limit headers on every response.</summary>
internal sealed class RateLimitMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<GatewayRequestFeature>();
        var limits = feature.Route!.RateLimits;
        if (limits.Length == 0)
        {
            return next(context);
        }

        var limiter = feature.Config.RateLimiter;
        if (!limiter.UsesRedis)
        {
            return Continue(context, feature, limiter.EvaluateLocal(limits, context, feature));
        }

        return EvaluateAsync(context, feature, limiter, limits);
    }

    private async Task EvaluateAsync(HttpContext context, GatewayRequestFeature feature, RateLimiter limiter, CompiledLimit[] limits)
    {
        var outcome = await limiter.EvaluateAsync(limits, context, feature).ConfigureAwait(false);
        await Continue(context, feature, outcome).ConfigureAwait(false);
    }

    private Task Continue(HttpContext context, GatewayRequestFeature feature, RateLimitOutcome outcome)
    {
        feature.RateLimit = outcome;
        RateLimitHeaders.Apply(context.Response.Headers, outcome);
        if (outcome.Allowed)
        {
            return next(context);
        }

        var retryAfter = RateLimitHeaders.Seconds(outcome.Reset).ToString(CultureInfo.InvariantCulture);
        if (outcome.Unavailable)
        {
            return Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "urn:gateway:problem:rate-limit-unavailable", "Service Unavailable",
                "Rate limits cannot be checked right now (failure_mode: closed).", HeaderNames.RetryAfter, retryAfter);
        }

        RateLimitMetrics.Limited(feature.Route!.Id, outcome.Refusing!.DimensionLabel);
        return Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "urn:gateway:problem:rate-limited", "Too Many Requests",
            $"Rate limit reached ({outcome.Refusing.Description}); retry after {retryAfter} s.", HeaderNames.RetryAfter, retryAfter);
    }
}
