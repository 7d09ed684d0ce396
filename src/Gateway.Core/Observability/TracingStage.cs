using System.Diagnostics;
using Gateway.Pipeline;

namespace Gateway.Observability;

/// <summary>The tracing stage's policy: the exporter its spans go to and the sampler that decides which requests have any.</summary>
internal sealed record TracingPolicy(TraceExport Export, TraceSampler Sampler);

/// <summary>
/// Traces (<c>observability.tracing</c>): decides whether a request is sampled (parent-based: a client's trace keeps
/// its own decision, a new trace is sampled at <c>sample_rate</c> on its trace id), and for a sampled one records a
/// server span and one client span per upstream attempt (<see cref="RequestTrace"/>). With tracing off the stage has no
/// policy and is skipped: no span, no sampler, nothing but the trace context the first stage keeps anyway. A request
/// that is not sampled gets no span either; it continues the client's trace id (W3C or B3) with the sampled flag off.
/// </summary>
internal sealed class TracingStage : Stage<TracingPolicy>
{
    public override StageScope Scope => StageScope.Request;

    protected override TracingPolicy? CompilePolicy(StageCompilation compilation)
    {
        if (compilation.Config.Observability?.Tracing is not { Enabled: true } tracing || compilation.State.Offline)
        {
            return null;
        }

        var export = compilation.State.TraceExports.GetOrAdd(TraceExportKey.From(tracing), static key => new TraceExport(key));
        return new TracingPolicy(export, new TraceSampler(tracing.SampleRate));
    }

    protected override ValueTask<bool> Request(Exchange exchange, TracingPolicy policy)
    {
        if (exchange.Trace.Continued)
        {
            // A valid traceparent (the first stage has parsed it): its own decision stands, read without parsing it again.
            if (IncomingTrace.IsSampled(exchange.RequestHeaders.TraceParent[0]!))
            {
                exchange.Tracing = RequestTrace.Start(exchange, policy.Export.Source, IncomingTrace.Read(exchange.RequestHeaders));
            }

            return Next;
        }

        var incoming = IncomingTrace.Read(exchange.RequestHeaders);
        if (policy.Sampler.Samples(incoming, exchange.Trace.TraceId))
        {
            exchange.Tracing = RequestTrace.Start(exchange, policy.Export.Source, incoming);
        }
        else if (incoming.HasParent)
        {
            // A B3 trace goes on in W3C's words: its trace id, the gateway's span id, not sampled.
            exchange.Trace = TraceContext.Of(incoming.Parent.TraceId, ActivitySpanId.CreateRandom(), sampled: false, continued: false);
        }

        return Next;
    }

    protected override void Completed(Exchange exchange, TracingPolicy policy) => exchange.Tracing?.Completed(exchange);

    protected override string? Describe(TracingPolicy policy) => $"tracing(sample_rate={policy.Sampler.Rate:0.###})";
}
