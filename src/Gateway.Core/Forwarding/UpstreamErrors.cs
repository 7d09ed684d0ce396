using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Forwarding;

/// <summary>What HttpClient's exceptions say about an attempt (both HttpClient senders read them alike).</summary>
internal static class UpstreamErrors
{
    /// <summary>True when the connection could not even be made: nothing of the request reached a backend.</summary>
    public static bool ConnectFailed(Exception? exception)
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

    public static bool InvalidResponse(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse })
            {
                return true;
            }
        }

        return false;
    }

    public static BadHttpRequestException? FindBadRequest(Exception? exception)
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
}

/// <summary>Puts headers where HttpClient wants them: content headers on the content, the rest on the request.</summary>
internal readonly struct HttpRequestMessageSink(HttpRequestMessage request) : IUpstreamHeaderSink
{
    public void Add(string name, StringValues values)
    {
        if (values.Count == 1)
        {
            var value = values[0] ?? "";
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }

            return;
        }

        var all = values.ToArray();
        if (!request.Headers.TryAddWithoutValidation(name, all!))
        {
            request.Content?.Headers.TryAddWithoutValidation(name, all!);
        }
    }

    public void Dropped(string name)
    {
    }
}
