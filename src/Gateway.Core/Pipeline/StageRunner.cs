using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Gateway.Pipeline;

/// <summary>
/// Runs an exchange through the stages of <see cref="GatewayFeatures.Stages"/>: request sides in order until one
/// answers (or the last one forwards), then the response sides of every stage that ran, in reverse, then the
/// gateway's own answer if there is one. Both codecs and the offline verbs run requests through here, so the order
/// lives in one place. A stage that throws is a bug: the client gets a 500 problem and the log the request id.
/// </summary>
internal sealed partial class StageRunner(ILogger logger)
{
    private static readonly Stage[] Stages = GatewayFeatures.Stages;

    public ValueTask RunAsync(Exchange exchange)
    {
        for (var i = 0; i < Stages.Length; i++)
        {
            if (PolicyOf(exchange, i) is not { } policy)
            {
                continue;
            }

            exchange.StageCursor = i;
            ValueTask<bool> pending;
            try
            {
                pending = Stages[i].RequestAsync(exchange, policy);
            }
            catch (Exception e)
            {
                return FinishAsync(exchange, e);
            }

            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueAsync(exchange, i, pending);
            }

            if (!pending.Result)
            {
                break;
            }
        }

        if (exchange.Answer is null && !exchange.HasResponseBodyFilters)
        {
            Complete(exchange);
            return ValueTask.CompletedTask;
        }

        return FinishAsync(exchange, null);
    }

    /// <summary>
    /// Runs the response side of every stage that has run, last first, once per response. Senders call it when a
    /// backend's head is known and before it is sent; the runner calls it for the gateway's own answers.
    /// </summary>
    public static void PrepareResponse(Exchange exchange)
    {
        if (exchange.ResponsePrepared)
        {
            return;
        }

        exchange.ResponsePrepared = true;
        for (var i = exchange.StageCursor; i >= 0; i--)
        {
            if (PolicyOf(exchange, i) is { } policy)
            {
                Stages[i].Response(exchange, policy);
            }
        }

        exchange.InstallResponseBodyFilters();
    }

    private static object? PolicyOf(Exchange exchange, int stage) =>
        Stages[stage].Scope == StageScope.Request ? exchange.Config.StagePolicies[stage] : exchange.Route?.Policies[stage];

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ContinueAsync(Exchange exchange, int index, ValueTask<bool> pending)
    {
        Exception? failure = null;
        try
        {
            var next = await pending.ConfigureAwait(false);
            for (var i = index + 1; next && i < Stages.Length; i++)
            {
                if (PolicyOf(exchange, i) is not { } policy)
                {
                    continue;
                }

                exchange.StageCursor = i;
                next = await Stages[i].RequestAsync(exchange, policy).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            failure = e;
        }

        await FinishAsync(exchange, failure).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FinishAsync(Exchange exchange, Exception? failure)
    {
        try
        {
            if (failure is not null)
            {
                Failed(exchange, failure);
            }

            if (exchange.Answer is { } answer)
            {
                await WriteAsync(exchange, answer).ConfigureAwait(false);
            }

            await exchange.CompleteResponseBodyAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (exchange.Client.Aborted.IsCancellationRequested || e is OperationCanceledException or IOException)
        {
            // The client went away while the answer was written; nobody is left to tell.
            exchange.ResponseCut = true;
            await exchange.CompleteResponseBodyAsync().ConfigureAwait(false);
        }
        finally
        {
            Complete(exchange);
        }
    }

    private void Failed(Exchange exchange, Exception failure)
    {
        if (exchange.Client.Aborted.IsCancellationRequested && failure is OperationCanceledException or IOException)
        {
            exchange.Respond(Problems.ClientGone);
            return;
        }

        Log.UnhandledError(logger, exchange.RequestId, exchange.Method, exchange.Path, exchange.Route?.Id ?? "-", failure);
        exchange.Respond(Problems.Create(exchange, 500, AnswerReasons.InternalError, "urn:gateway:problem:internal", "Internal Server Error",
            "The gateway failed to handle this request; the request id identifies it in the gateway's log."));
    }

    /// <summary>Writes the gateway's own answer; a response already under way is cut off instead (it cannot be replaced).</summary>
    private static async Task WriteAsync(Exchange exchange, Answer answer)
    {
        var client = exchange.Client;
        if (client.ResponseStarted)
        {
            exchange.ResponseCut = true;
            client.Abort();
            return;
        }

        exchange.ResetResponse();
        answer = Grpc.GrpcAnswers.ForGrpc(exchange, answer);
        client.Status = answer.Status;
        if (answer.Silent)
        {
            return;
        }

        var headers = client.ResponseHeaders;
        if (answer.Headers is { } configured)
        {
            foreach (var (header, value) in configured)
            {
                headers[header] = value;
            }
        }

        if (answer.ContentType is { } contentType)
        {
            headers.ContentType = contentType;
        }

        if (answer.NoStore)
        {
            headers.CacheControl = "no-store";
        }

        if (answer.HeaderName is { } name)
        {
            headers[name] = answer.HeaderValue;
        }

        if (answer.Body.Length > 0 || answer.Status is >= 200 and not (204 or 304))
        {
            // Also when empty: a body of known length 0 is sent as such, never taken for a stream (compression skips it).
            client.ResponseContentLength = answer.Body.Length;
        }

        PrepareResponse(exchange);
        if (answer.Body.Length > 0 && !exchange.IsHead)
        {
            await client.ResponseBody.WriteAsync(answer.Body, client.Aborted).ConfigureAwait(false);
        }
    }

    /// <summary>Runs every stage's end-of-exchange work, last stage first; one failing never keeps the others from theirs (a fill left open would stall identical requests).</summary>
    private void Complete(Exchange exchange)
    {
        if (exchange.ResponseCut && !exchange.Client.Aborted.IsCancellationRequested)
        {
            // A response cut short must never look complete to the client, whichever path cut it.
            exchange.Client.Abort();
        }

        for (var i = exchange.StageCursor; i >= 0; i--)
        {
            if (PolicyOf(exchange, i) is { } policy)
            {
                try
                {
                    Stages[i].Completed(exchange, policy);
                }
                catch (Exception e)
                {
                    Log.CompletionFailed(logger, exchange.RequestId, Stages[i].GetType().Name, exchange.Route?.Id ?? "-", e);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "request {RequestId} ({Method} {Path}, route {Route}) failed inside the gateway")]
        public static partial void UnhandledError(ILogger logger, string requestId, string method, string path, string route, Exception error);

        [LoggerMessage(2, LogLevel.Error, "request {RequestId} (route {Route}): the {Stage} stage failed to finish")]
        public static partial void CompletionFailed(ILogger logger, string requestId, string stage, string route, Exception error);
    }
}
