using System.Diagnostics;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Logging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Pipeline;

/// <summary>
/// First stage: takes the config snapshot, resolves the client, assigns the request id and trace
/// context, and writes the access log line when the request ends. Bugs below it become a 500 problem
/// logged with the request id, never a stack trace to the client.
/// </summary>
internal sealed partial class RequestContextMiddleware(RequestDelegate next, ConfigStore store, AccessLog accessLog, ILogger<RequestContextMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var config = store.Current;
        var headers = context.Request.Headers;
        var feature = new GatewayRequestFeature(
            config,
            RequestIds.From(headers[RequestIds.HeaderName]),
            TraceContext.From(headers.TraceParent),
            ClientAddress.Resolve(context, config),
            Stopwatch.GetTimestamp());
        context.Features.Set(feature);
        context.Response.Headers[RequestIds.HeaderName] = feature.RequestId;

        Task task;
        try
        {
            task = next(context);
        }
        catch (Exception e)
        {
            task = Task.FromException(e);
        }

        if (task.IsCompletedSuccessfully)
        {
            accessLog.Write(context, feature);
            return Task.CompletedTask;
        }

        return AwaitAsync(task, context, feature);
    }

    private async Task AwaitAsync(Task task, HttpContext context, GatewayRequestFeature feature)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            await Problems.WriteAsync(context, e.StatusCode, "urn:gateway:problem:bad-request", e.StatusCode == 413 ? "Content Too Large" : "Bad Request",
                e.StatusCode == 413 ? "The request body is larger than this route accepts." : "The request could not be read.").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception e)
        {
            Log.UnhandledError(logger, feature.RequestId, e);
            await Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, "urn:gateway:problem:internal", "Internal Server Error",
                "The gateway failed to handle this request; the request id identifies it in the gateway's log.").ConfigureAwait(false);
        }
        finally
        {
            accessLog.Write(context, feature);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "request {RequestId} failed inside the gateway")]
        public static partial void UnhandledError(ILogger logger, string requestId, Exception error);
    }
}
