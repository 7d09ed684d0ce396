using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace Gateway.Pipeline;

/// <summary>
/// What the codec that carried a request provides to the rest of the gateway: the request body, the response
/// being built (status, headers, body) and the connection's fate. Kestrel's HTTP layer implements it today
/// (<see cref="Hosting.KestrelChannel"/>); the offline verbs implement it without any network. Stages never see
/// more of the codec than this.
/// </summary>
internal interface IClientChannel
{
    /// <summary>The request body as it arrives (empty when the request has none).</summary>
    PipeReader RequestBody { get; }

    /// <summary>Cancelled when the client goes away.</summary>
    CancellationToken Aborted { get; }

    /// <summary>The Kestrel request behind this exchange, for the senders that need one (YARP: HTTP/2, TLS, upgrades); null on other codecs.</summary>
    HttpContext? HttpContext { get; }

    /// <summary>Cuts a request body of unknown length off once it passes <paramref name="max"/> bytes (reading it then fails with 413).</summary>
    void LimitRequestBody(long max);

    int Status { get; set; }

    IHeaderDictionary ResponseHeaders { get; }

    long? ResponseContentLength { get; set; }

    /// <summary>The response head has gone to the client: it can no longer be replaced.</summary>
    bool ResponseStarted { get; }

    /// <summary>The response body; writing to it sends the head first.</summary>
    PipeWriter ResponseBody { get; }

    /// <summary>
    /// The response body as a stream. Setting it routes every later write through the stream given (both
    /// <see cref="ResponseBody"/> and, on Kestrel, the request's own body stream, which YARP writes to); setting back
    /// the stream read first undoes that. Response-body filters use it (<see cref="Exchange.FilterResponseBody"/>).
    /// </summary>
    Stream ResponseStream { get; set; }

    /// <summary>Sends the response head now (before any body byte).</summary>
    Task StartResponseAsync(CancellationToken cancel);

    /// <summary>Forgets status and headers of a response that has not started (to answer something else instead).</summary>
    void ClearResponse();

    /// <summary>Ends the connection at once: a response already under way must not look complete.</summary>
    void Abort();
}
