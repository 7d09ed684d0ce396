using System.Diagnostics.Metrics;
using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Connections;

namespace Gateway.Http1;

/// <summary>
/// The gateway's own HTTP/1.1 codec, installed as a connection middleware on Kestrel's listener: it serves HTTP/1.1
/// itself (no HTTP layer, no <c>HttpContext</c>), running every request through the same stages as Kestrel's path,
/// and hands a connection to Kestrel's HTTP layer (<c>next</c>) when a request asks to switch protocols.
/// </summary>
internal sealed class NativeCodec
{
    private readonly Counter<long> _refusals;

    public NativeCodec(ConfigStore store, StageRunner runner, TimeProvider time, LimitsConfig limits, Counter<long> refusals)
    {
        _refusals = refusals;
        Store = store;
        Runner = runner;
        Time = time;
        Date = new DateHeader(time);
        // Hard ceilings at twice the configured limits, as on Kestrel's path: requests between the limit and the
        // ceiling reach the limits stage and get its problem document.
        Limits = new HeadLimits((limits.MaxUriBytes * 2) + 64, limits.MaxHeaderBytes * 2, limits.MaxHeaders * 2);
        HeaderTimeout = TimeSpan.FromSeconds(limits.RequestHeaderTimeoutSecs);
        KeepAliveTimeout = TimeSpan.FromSeconds(limits.KeepAliveTimeoutSecs);
    }

    public ConfigStore Store { get; }

    public StageRunner Runner { get; }

    public TimeProvider Time { get; }

    public DateHeader Date { get; }

    public HeadLimits Limits { get; }

    public TimeSpan HeaderTimeout { get; }

    public TimeSpan KeepAliveTimeout { get; }

    /// <summary>The connection middleware: serves HTTP/1.1, or passes the connection on to Kestrel's HTTP layer.</summary>
    public ConnectionDelegate Use(ConnectionDelegate next) => context => OnConnectionAsync(context, next);

    private async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ITlsApplicationProtocolFeature>() is { } alpn
            && alpn.ApplicationProtocol.Span.SequenceEqual(System.Net.Security.SslApplicationProtocol.Http2.Protocol.Span))
        {
            // ALPN chose HTTP/2: Kestrel's HTTP layer serves it.
            await next(context).ConfigureAwait(false);
            return;
        }

        bool handOver;
        using (var connection = new NativeConnection(this, context))
        {
            handOver = await connection.RunAsync().ConfigureAwait(false);
        }

        if (handOver)
        {
            await next(context).ConfigureAwait(false);
        }
    }

    public void Refused(HeadError error) => _refusals.Add(1, new KeyValuePair<string, object?>("status", Observability.Metrics.StatusTags.Of(error.Status)));
}
