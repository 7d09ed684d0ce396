namespace Gateway.Pipeline;

/// <summary>
/// Something the response body passes through on its way to the client, installed by a stage's response side for
/// one response (the cache keeps a copy, compression encodes). Filters chain in the order they are installed: the
/// first one installed sees the bytes as the sender wrote them, the last one writes to the client. Because response
/// sides run last stage first, a stage later in <see cref="GatewayFeatures.All"/> sits nearer the backend.
/// </summary>
internal abstract class ResponseBodyFilter
{
    /// <summary>The stream the sender's bytes go to, writing on to <paramref name="next"/> (towards the client).</summary>
    public abstract Stream Wrap(Stream next);

    /// <summary>The body ended as the backend (or the stage answering) sent it: writes out whatever the filter still holds.</summary>
    public abstract ValueTask CompleteAsync(CancellationToken cancel);

    /// <summary>The response was dropped (replaced before it started) or cut short: frees what the filter holds, writing nothing.</summary>
    public abstract void Discard();
}
