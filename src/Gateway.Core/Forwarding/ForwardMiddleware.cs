using System.Diagnostics;
using System.Net.Sockets;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Forwarding;

/// <summary>
/// The last stage: answers a mock route directly, or forwards to a backend through YARP and turns a
/// failed forward into 502 (refused, reset, garbage), 504 (timeout), 400 or 413 (the client's body).
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
            return mock.WriteAsync(context);
        }

        var backend = route.Backends!.Pick();
        feature.Backend = backend;
        if (context.Request.ContentLength is null && context.Request.Headers.ContainsKey("Transfer-Encoding"))
        {
            var counter = new CountingStream(context.Request.Body);
            context.Request.Body = counter;
            feature.RequestCounter = counter;
        }

        return ForwardAsync(context, feature, backend);
    }

    private async Task ForwardAsync(HttpContext context, GatewayRequestFeature feature, Backend backend)
    {
        var route = feature.Route!;
        var started = Stopwatch.GetTimestamp();
        var error = await forwarder.SendAsync(context, backend.Prefix, upstream.Invoker, route.RequestConfig, GatewayTransformer.Instance).ConfigureAwait(false);
        feature.UpstreamTicks = Stopwatch.GetTimestamp() - started;
        if (error == ForwarderError.None || context.Response.HasStarted)
        {
            return;
        }

        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        switch (error)
        {
            case ForwarderError.RequestTimedOut:
                await Problems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "urn:gateway:problem:backend-timeout", "Gateway Timeout",
                    $"The backend did not answer within {route.Timeout.TotalSeconds:0.###} s.").ConfigureAwait(false);
                break;
            case ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled:
                // The client went away; nobody is left to answer.
                context.Response.StatusCode = 499;
                break;
            case ForwarderError.RequestBodyClient:
                if (FindBadRequest(exception) is { StatusCode: StatusCodes.Status413PayloadTooLarge })
                {
                    await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "urn:gateway:problem:body-too-large", "Content Too Large",
                        $"The request body is larger than {feature.Config.MaxRequestBodySize} bytes.").ConfigureAwait(false);
                }
                else
                {
                    await Problems.BadRequest(context, "The request body could not be read.").ConfigureAwait(false);
                }

                break;
            default:
                await Problems.WriteAsync(context, StatusCodes.Status502BadGateway, "urn:gateway:problem:bad-gateway", "Bad Gateway",
                    DescribeBackendFailure(exception)).ConfigureAwait(false);
                break;
        }
    }

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
                    SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "The backend's host name could not be resolved.",
                    SocketError.TimedOut => "Connecting to the backend timed out.",
                    _ => "The backend could not be reached.",
                };
            }

            if (e is HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded })
            {
                return "The backend sent an invalid or incomplete response.";
            }
        }

        return "The backend failed to answer.";
    }
}
