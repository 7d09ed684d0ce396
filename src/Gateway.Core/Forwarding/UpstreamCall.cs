using System.Runtime.CompilerServices;
using System.Globalization;
using System.Net.Sockets;
using Gateway.Pipeline;
using Gateway.Resilience;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Forwarding;

/// <summary>
/// Takes a request to a route's backends: picks a backend (load balancing, health, circuit breaker), sends through the
/// route's sender, records each attempt's outcome against its backend, retries what can safely be retried within the
/// retry budget and the one deadline of the route, and turns what failed into the gateway's answer: 502 (refused,
/// reset, garbage), 503 (no backend can take it), 504 (timeout), or 400/413 when the client's body is at fault. All
/// waiting is measured and done with the exchange's <see cref="TimeProvider"/>.
/// </summary>
internal static class UpstreamCall
{
    private static readonly TimeSpan MinimumAttemptTime = TimeSpan.FromMilliseconds(10);

    /// <summary>Forwards the request and answers it; always false (the forward stage is the last: nothing runs after it).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<bool> ForwardAsync(Exchange exchange, UpstreamRoute route)
    {
        var time = exchange.Time;
        var retry = route.Retry;
        retry?.Budget.RecordRequest();
        var replayable = RetryPolicy.IsReplayable(exchange);
        var started = time.GetTimestamp();
        var timeout = Grpc.GrpcDeadline.Cap(exchange, route.Timeout);
        var sender = route.SenderFor(exchange);
        var input = new LoadBalancing.BalancingInput(exchange.RequestHeaders, exchange.ClientIp);
        List<Backend>? tried = null;
        var resends = 0;
        Backend? stale = null;
        var staleProbe = false;
        for (var attempt = 0; ; attempt++)
        {
            // A repeat on a fresh connection goes to the same backend under the breaker permission of the attempt it repeats.
            var (backend, probe) = stale is not null ? (stale, staleProbe) : Enter(route.Backends, input, tried);
            if (backend is null)
            {
                exchange.Respond(NoBackend(exchange, route.Backends));
                return false;
            }

            exchange.Backend = backend;
            var canRetry = retry is not null && attempt < retry.MaxRetries;
            var left = timeout - time.GetElapsedTime(started);
            var current = new UpstreamAttempt(exchange, route, backend, probe, canRetry && replayable && retry!.Budget.HasRoom(), left, freshConnection: stale is not null);
            exchange.Attempt = current;
            backend.Started();
            var span = exchange.Tracing?.AttemptStarted(exchange, backend, resends++);
            var sent = time.GetTimestamp();
            // (What a sender that throws leaves for the attempt's span: the attempt failed.)
            var result = new SendResult(UpstreamFailure.Reset);
            try
            {
                result = await sender.SendAsync(exchange, current).ConfigureAwait(false);
            }
            finally
            {
                exchange.UpstreamTicks += time.GetTimestamp() - sent;
                exchange.Attempt = null;
                Observability.RequestTrace.AttemptEnded(span, AttemptStatus(exchange, result), result.Failure);
            }

            var failure = result.Failure;
            if (failure == UpstreamFailure.StaleConnection && replayable && stale is null && timeout - time.GetElapsedTime(started) > MinimumAttemptTime)
            {
                // The backend closed a kept-alive connection just as it was reused: the request goes once more on a new
                // connection, as any HTTP client does. Only for requests that cannot do anything twice.
                backend.Finished(true);
                stale = backend;
                staleProbe = probe;
                attempt--;
                exchange.ResetResponse();
                continue;
            }

            stale = null;
            if (failure == UpstreamFailure.StaleConnection)
            {
                failure = UpstreamFailure.Reset;
            }

            if (failure.IsClients())
            {
                // The client went away or sent something the gateway will not pass on: that says nothing about the backend.
                backend.Finished(true);
                current.Abandon();
                exchange.ResponseCut |= exchange.Client.ResponseStarted;
                exchange.Respond(ClientFailure(exchange, failure, result.Error));
                return false;
            }

            var success = failure == UpstreamFailure.None;
            backend.Finished(success);
            if (current.Recorded)
            {
                if (!success)
                {
                    // The answer's head was recorded; then the backend failed inside its body.
                    current.RecordLateFailure();
                    route.Metrics.Error(backend.Name, failure.Label());
                    if (!exchange.Client.ResponseStarted)
                    {
                        // Nothing of it reached the client yet: the client is told the backend failed, never given an
                        // empty answer that looks complete.
                        exchange.Respond(BackendFailure(exchange, timeout, failure, result));
                        return false;
                    }

                    exchange.ResponseCut = true;
                }

                return false;
            }

            current.Record(success, success ? exchange.Client.Status : failure == UpstreamFailure.HeldBack ? result.HeldBackStatus : StatusOf(failure));
            if (success)
            {
                return false;
            }

            route.Metrics.Error(backend.Name, failure.Label());
            if (exchange.Client.ResponseStarted)
            {
                exchange.ResponseCut = true;
                return false;
            }

            var retryable = failure == UpstreamFailure.ConnectFailed || replayable;
            var backoff = retry?.Backoff(attempt + 1) ?? TimeSpan.Zero;
            left = timeout - time.GetElapsedTime(started) - backoff;
            if (canRetry && retryable && left > MinimumAttemptTime && !exchange.Client.Aborted.IsCancellationRequested && retry!.Budget.TryRetry())
            {
                route.Metrics.Retry(route.RouteId);
                (tried ??= []).Add(backend);
                exchange.ResetResponse();
                try
                {
                    await Task.Delay(backoff, time, exchange.Client.Aborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    exchange.Respond(Problems.ClientGone);
                    return false;
                }

                continue;
            }

            exchange.Respond(BackendFailure(exchange, timeout, failure, result));
            return false;
        }
    }

    /// <summary>
    /// Picks a backend and takes its breaker's permission. A breaker that refuses at that moment (its half-open probes
    /// just got taken) sends the choice to the next candidate rather than failing the request.
    /// </summary>
    private static (Backend? Backend, bool Probe) Enter(LoadBalancing.BackendGroup group, in LoadBalancing.BalancingInput input, List<Backend>? tried)
    {
        List<Backend>? refused = null;
        for (var i = 0; i <= group.Backends.Length; i++)
        {
            var backend = group.Select(input, refused is null ? tried : [.. tried ?? [], .. refused]);
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

    /// <summary>The status the backend answered this attempt with, or 0 when it gave none.</summary>
    private static int AttemptStatus(Exchange exchange, in SendResult result) => result.Failure switch
    {
        UpstreamFailure.None or UpstreamFailure.ResponseBodyFailed => exchange.Client.Status,
        UpstreamFailure.HeldBack => result.HeldBackStatus,
        _ => 0,
    };

    private static int StatusOf(UpstreamFailure failure) => failure == UpstreamFailure.Timeout ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;

    private static Answer NoBackend(Exchange exchange, LoadBalancing.BackendGroup group)
    {
        var wait = RateLimiting.RateLimitHeaders.Seconds(group.RetryAfter()).ToString(CultureInfo.InvariantCulture);
        var breakersOpen = group.BreakersClosedTheWay();
        return Problems.Create(exchange, StatusCodes.Status503ServiceUnavailable, breakersOpen ? AnswerReasons.CircuitOpen : AnswerReasons.NoHealthyBackend,
            breakersOpen ? "urn:gateway:problem:circuit-open" : "urn:gateway:problem:no-healthy-backend", "Service Unavailable",
            breakersOpen ? "The backend's circuit breaker is open after repeated failures." : "No healthy backend can take this request.",
            HeaderNames.RetryAfter, wait);
    }

    private static Answer ClientFailure(Exchange exchange, UpstreamFailure failure, Exception? error) => failure switch
    {
        UpstreamFailure.ClientGone => Problems.ClientGone,
        // SPEC's statuses have no 408: a body that stops arriving is a malformed request, said plainly.
        UpstreamFailure.ClientBodyTimeout => Problems.BadRequest(exchange, AnswerReasons.ClientTimeout, error?.Message ?? "The request body did not arrive in time."),
        UpstreamFailure.ClientBodyTooLarge => Problems.ContentTooLarge(exchange, $"The request body is larger than {exchange.Config.MaxRequestBodySize} bytes."),
        UpstreamFailure.Unsendable => Problems.BadRequest(exchange, AnswerReasons.Unsendable, error?.Message ?? "The request cannot be forwarded as it is."),
        _ => Problems.BadRequest(exchange, AnswerReasons.BadBody, "The request body could not be read."),
    };

    private static Answer BackendFailure(Exchange exchange, TimeSpan timeout, UpstreamFailure failure, in SendResult result) => failure switch
    {
        UpstreamFailure.Timeout => Problems.Create(exchange, StatusCodes.Status504GatewayTimeout, AnswerReasons.UpstreamTimeout, "urn:gateway:problem:backend-timeout",
            "Gateway Timeout", $"The backend did not answer within {timeout.TotalSeconds:0.###} s."),
        UpstreamFailure.HeldBack => Problems.Create(exchange, result.HeldBackStatus, AnswerReasons.Upstream5xx, "urn:gateway:problem:backend-error",
            Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(result.HeldBackStatus), $"The backend answered {result.HeldBackStatus} on every attempt."),
        _ => Problems.Create(exchange, StatusCodes.Status502BadGateway, ReasonOf(failure, result.Error), "urn:gateway:problem:bad-gateway", "Bad Gateway",
            Describe(failure, result.Error)),
    };

    /// <summary>
    /// The access log's code for a 502: for a connection that could not be made, whether it was refused or timed out
    /// (the connect timeout's own <see cref="TimeoutException"/> inside the connection error says so).
    /// </summary>
    internal static string ReasonOf(UpstreamFailure failure, Exception? exception)
    {
        if (failure == UpstreamFailure.InvalidResponse)
        {
            return AnswerReasons.UpstreamBadResponse;
        }

        if (failure != UpstreamFailure.ConnectFailed)
        {
            return AnswerReasons.UpstreamReset;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return AnswerReasons.UpstreamConnectRefused;
                case SocketException { SocketErrorCode: SocketError.TimedOut }:
                case TimeoutException:
                    return AnswerReasons.UpstreamConnectTimeout;
            }
        }

        return AnswerReasons.UpstreamConnectFailed;
    }

    private static string Describe(UpstreamFailure failure, Exception? exception)
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

        return failure switch
        {
            UpstreamFailure.ConnectFailed => "The backend could not be reached.",
            UpstreamFailure.InvalidResponse => "The backend sent an invalid or incomplete response.",
            _ => "The backend failed to answer.",
        };
    }
}
