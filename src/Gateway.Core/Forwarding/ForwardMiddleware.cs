using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Gateway.Pipeline;
using Gateway.Resilience;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding;

/// <summary>
/// The last stage: answers a mock route directly, or forwards through YARP: picks a backend (load balancing,
/// health, circuit breaker), retries what can safely be retried, and turns a failed forward into 502 (refused,
/// reset, garbage), 503 (no backend can take it) or 504 (timeout); 400/413 when the client's body is at fault.
/// </summary>
internal sealed class ForwardMiddleware(RequestDelegate next, IHttpForwarder forwarder, UpstreamClient upstream)
{
    public Task InvokeAsync(HttpContext context)
    {
        _ = next;
        var feature = context.Features.GetRequiredFeature<GatewayRequestFeature>();
        var route = feature.Route!;
        if (route.Mock is { } mock)
        {
            return mock.WriteAsync(context, feature.RateLimit);
        }

        if (context.Request.ContentLength is null && context.Request.Headers.ContainsKey("Transfer-Encoding"))
        {
            var counter = new CountingStream(context.Request.Body);
            context.Request.Body = counter;
            feature.RequestCounter = counter;
        }

        return ForwardAsync(context, feature);
    }

    private async Task ForwardAsync(HttpContext context, GatewayRequestFeature feature)
    {
        var route = feature.Route!;
        var group = route.Backends!;
        var retry = route.Retry;
        retry?.Budget.RecordRequest();
        var replayable = RetryPolicy.IsReplayable(context.Request);
        var deadline = Stopwatch.GetTimestamp();
        var requestConfig = route.RequestConfig;
        var http1 = route.Http1Backends && upstream.Http1 is not null && Http1.Http1Forwarder.CanSend(context.Request) ? upstream.Http1 : null;
        List<Backend>? tried = null;
        for (var attempt = 0; ; attempt++)
        {
            var (backend, probe) = Enter(group, context, feature, tried);
            if (backend is null)
            {
                await NoBackendAsync(context, group).ConfigureAwait(false);
                return;
            }

            feature.Backend = backend;
            var canRetry = retry is not null && attempt < retry.MaxRetries;
            feature.RetryableStatus = canRetry && replayable && retry!.Budget.HasRoom();
            var started = Stopwatch.GetTimestamp();
            backend.Started();
            var error = http1 is not null
                ? await Http1.Http1Forwarder.SendAsync(http1, context, feature, backend, requestConfig.ActivityTimeout ?? route.Timeout).ConfigureAwait(false)
                : await forwarder.SendAsync(context, backend.Prefix, upstream.Invoker, requestConfig, GatewayTransformer.Instance).ConfigureAwait(false);
            feature.UpstreamTicks += Stopwatch.GetTimestamp() - started;

            var failure = Classify(context, error, feature);
            var success = failure is null;
            if (failure is { Kind: "client" })
            {
                // The client went away or sent a bad body: that says nothing about the backend.
                backend.Finished(true);
                backend.Breaker?.Abandon(probe);
                await WriteFailureAsync(context, feature, failure.Value).ConfigureAwait(false);
                return;
            }

            backend.Finished(success);
            backend.Breaker?.Record(success, probe);
            backend.Health.RecordPassive(success);
            ResilienceMetrics.Request(route.Id, backend.Name, success ? context.Response.StatusCode : failure!.Value.Status);
            if (success || context.Response.HasStarted)
            {
                if (!success)
                {
                    ResilienceMetrics.Error(backend.Name, failure!.Value.Kind);
                }

                return;
            }

            ResilienceMetrics.Error(backend.Name, failure!.Value.Kind);
            var retryable = failure.Value.NothingSent || replayable;

            // The route's timeout bounds all attempts together: a retry gets what is left of it.
            var backoff = retry?.Backoff(attempt + 1) ?? TimeSpan.Zero;
            var left = route.Timeout - Stopwatch.GetElapsedTime(deadline) - backoff;
            if (canRetry && retryable && left > TimeSpan.FromMilliseconds(10) && !context.RequestAborted.IsCancellationRequested && retry!.Budget.TryRetry())
            {
                ResilienceMetrics.Retry(route.Id);
                (tried ??= []).Add(backend);
                ResetForRetry(context);
                requestConfig = route.RequestConfig with { ActivityTimeout = left };
                try
                {
                    await Task.Delay(backoff, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            await WriteFailureAsync(context, feature, failure.Value).ConfigureAwait(false);
            return;
        }
    }

    /// <summary>
    /// Picks a backend and takes its breaker's permission. A breaker that refuses at that moment (its half-open
    /// probes just got taken) sends the choice to the next candidate rather than failing the request.
    /// </summary>
    private static (Backend? Backend, bool Probe) Enter(LoadBalancing.BackendGroup group, HttpContext context, GatewayRequestFeature feature, List<Backend>? tried)
    {
        List<Backend>? refused = null;
        for (var i = 0; i <= group.Backends.Length; i++)
        {
            var backend = group.Select(context, feature.ClientIp, refused is null ? tried : [.. tried ?? [], .. refused]);
            if (backend is null || refused?.Contains(backend) == true)
            {
                return (null, false);
            }

            if (backend.Breaker is null)
            {
                return (backend, false);
            }

            if (backend.Breaker.TryAcquire(out var probe))
            {
                return (backend, probe);
            }

            (refused ??= []).Add(backend);
        }

        return (null, false);
    }


    /// <summary>What went wrong with one attempt, or null when the backend answered (below 500, or a 5xx that is passed on).</summary>
    private static AttemptFailure? Classify(HttpContext context, ForwarderError error, GatewayRequestFeature feature)
    {
        if (error == ForwarderError.None)
        {
            // A 5xx the transformer held back (so it can be retried) has not started the response.
            if (feature.HeldBackStatus is int held)
            {
                feature.HeldBackStatus = null;
                return new AttemptFailure("status_" + held.ToString(CultureInfo.InvariantCulture), held, false, null);
            }

            return context.Response.StatusCode >= 500 && context.Response.StatusCode != 501
                ? new AttemptFailure("status_5xx", context.Response.StatusCode, false, null) with { PassedOn = true }
                : null;
        }

        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        return error switch
        {
            ForwarderError.RequestTimedOut => new AttemptFailure("timeout", StatusCodes.Status504GatewayTimeout, false, exception),
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
                => new AttemptFailure("client", 499, false, exception),
            ForwarderError.RequestBodyClient => new AttemptFailure("client", StatusCodes.Status400BadRequest, false, exception),
            _ => new AttemptFailure(ConnectFailed(exception) ? "connect" : "reset", StatusCodes.Status502BadGateway, ConnectFailed(exception), exception),
        };
    }

    /// <summary>True when the connection could not even be made: nothing of the request reached a backend.</summary>
    private static bool ConnectFailed(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }

            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable or SocketError.HostUnreachable })
            {
                return true;
            }
        }

        return false;
    }

    private static void ResetForRetry(HttpContext context)
    {
        context.Response.Clear();
        context.Features.Set<IForwarderErrorFeature>(null);
    }

    private static Task NoBackendAsync(HttpContext context, LoadBalancing.BackendGroup group)
    {
        var wait = RateLimiting.RateLimitHeaders.Seconds(group.RetryAfter()).ToString(CultureInfo.InvariantCulture);
        var breakersOpen = group.BreakersClosedTheWay();
        return Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            breakersOpen ? "urn:gateway:problem:circuit-open" : "urn:gateway:problem:no-healthy-backend", "Service Unavailable",
            breakersOpen ? "The backend's circuit breaker is open after repeated failures." : "No healthy backend can take this request.",
            HeaderNames.RetryAfter, wait);
    }

    private static Task WriteFailureAsync(HttpContext context, GatewayRequestFeature feature, AttemptFailure failure)
    {
        if (failure.PassedOn)
        {
            return Task.CompletedTask;
        }

        var route = feature.Route!;
        switch (failure.Kind)
        {
            case "timeout":
                return Problems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "urn:gateway:problem:backend-timeout", "Gateway Timeout",
                    $"The backend did not answer within {route.Timeout.TotalSeconds:0.###} s.");
            case "client" when failure.Status == 499:
                // The client went away; nobody is left to answer (a response already under way keeps its status).
                if (!context.Response.HasStarted)
                {
                    context.Response.StatusCode = 499;
                }

                return Task.CompletedTask;
            case "client" when failure.Exception is TimeoutException:
                // SPEC's statuses have no 408: a body that stops arriving is a malformed request, said plainly.
                return Problems.BadRequest(context, failure.Exception.Message);
            case "client":
                return FindBadRequest(failure.Exception) is { StatusCode: StatusCodes.Status413PayloadTooLarge }
                    ? Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "urn:gateway:problem:body-too-large", "Content Too Large",
                        $"The request body is larger than {feature.Config.MaxRequestBodySize} bytes.")
                    : Problems.BadRequest(context, "The request body could not be read.");
            default:
                if (failure.Kind.StartsWith("status_", StringComparison.Ordinal))
                {
                    return Problems.WriteAsync(context, failure.Status, "urn:gateway:problem:backend-error", ReasonPhrase(failure.Status),
                        $"The backend answered {failure.Status} on every attempt.");
                }

                return Problems.WriteAsync(context, StatusCodes.Status502BadGateway, "urn:gateway:problem:bad-gateway", "Bad Gateway",
                    DescribeBackendFailure(failure.Exception));
        }
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    private static BadHttpRequestException? FindBadRequest(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException bad)
            {
                return bad;
            }
        }

        return null;
    }

    private static string DescribeBackendFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "The backend refused the connection.",
                    SocketError.ConnectionReset => "The backend reset the connection.",
                    // Writing to a connection the backend had closed: typically an early answer to a request body it would not read.
                    SocketError.Shutdown or SocketError.ConnectionAborted => "The backend closed the connection before reading the whole request.",
                    SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "The backend's host name could not be resolved.",
                    SocketError.TimedOut => "Connecting to the backend timed out.",
                    _ => "The backend could not be reached.",
                };
            }

            if (e is HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded })
            {
                return "The backend sent an invalid or incomplete response.";
            }

            if (e is TimeoutException or TaskCanceledException)
            {
                return "Connecting to the backend timed out.";
            }
        }

        return "The backend failed to answer.";
    }

    private readonly record struct AttemptFailure(string Kind, int Status, bool NothingSent, Exception? Exception)
    {
        /// <summary>The backend's own 5xx went to the client as it was (nothing more to write).</summary>
        public bool PassedOn { get; init; }
    }
}
