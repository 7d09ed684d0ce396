using Gateway.Forwarding;
using Gateway.Logging;

namespace Gateway.Pipeline;

/// <summary>The request-context stage's policy: where the access line goes (null offline), and what it leaves out.</summary>
internal sealed record RequestContextPolicy(AccessLog? AccessLog, LogRedaction Redaction);

/// <summary>
/// First stage: the request id (the client's when it is a sane token, otherwise new), the trace context, the
/// client's address under the trusted-proxy rules; on the way out the <c>X-Request-Id</c> response header, and one
/// access-log line when the exchange is over.
/// </summary>
internal sealed class RequestContextStage : Stage<RequestContextPolicy>
{
    public override StageScope Scope => StageScope.Request;

    protected override RequestContextPolicy CompilePolicy(StageCompilation compilation) =>
        new(compilation.State.AccessLog, LogRedaction.For(compilation.Config));

    protected override ValueTask<bool> Request(Exchange exchange, RequestContextPolicy policy)
    {
        var headers = exchange.RequestHeaders;
        exchange.RequestId = RequestIds.From(headers[RequestIds.HeaderName], exchange.Time);
        exchange.Trace = TraceContext.From(headers.TraceParent);
        exchange.ClientIp = ClientAddress.Resolve(exchange);
        return Next;
    }

    protected override void Response(Exchange exchange, RequestContextPolicy policy) =>
        exchange.Client.ResponseHeaders[RequestIds.HeaderName] = exchange.RequestId;

    protected override void Completed(Exchange exchange, RequestContextPolicy policy) => policy.AccessLog?.Write(exchange, policy.Redaction);
}
