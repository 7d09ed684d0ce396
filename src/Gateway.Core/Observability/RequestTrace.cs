using System.Diagnostics;
using System.Globalization;
using Gateway.Forwarding;
using Gateway.Pipeline;

namespace Gateway.Observability;

/// <summary>
/// The spans of one sampled request: its server span, from the exchange's start to its end, and a client span for
/// each upstream attempt, whose id is the parent the backend is told of. Spans never become <see cref="Activity.Current"/>
/// beyond their own creation: the codecs run many requests on one execution context, and a span left current would
/// become the parent of the next request's.
/// </summary>
internal sealed class RequestTrace
{
    private readonly ActivitySource _source;
    private readonly Activity _server;
    private readonly bool _continued;

    private RequestTrace(ActivitySource source, Activity server, bool continued)
    {
        _source = source;
        _server = server;
        _continued = continued;
    }

    /// <summary>Starts the server span (as of the exchange's start), or returns null when the source has no listener left.</summary>
    public static RequestTrace? Start(Exchange exchange, ActivitySource source, in IncomingTrace incoming)
    {
        var time = exchange.Time;
        var started = time.GetUtcNow() - time.GetElapsedTime(exchange.StartTimestamp);
        var parent = incoming.HasParent
            ? new ActivityContext(incoming.Parent.TraceId, incoming.Parent.SpanId, ActivityTraceFlags.Recorded, incoming.Parent.TraceState, isRemote: true)
            : default;
        var method = Metrics.StatusTags.Method(exchange.Method);
        var server = Detached(source, SpanName(method), ActivityKind.Server, parent, started);
        if (server is null)
        {
            return null;
        }

        SetMethod(server, method, exchange.Method);
        server.SetTag("url.scheme", exchange.Scheme);
        server.SetTag("url.path", exchange.Path);
        server.SetTag("network.protocol.version", exchange.Protocol switch { "HTTP/1.1" => "1.1", "HTTP/2" => "2", "HTTP/1.0" => "1.0", var other => other });
        if (exchange.ClientIp is { } client)
        {
            server.SetTag("client.address", client.ToString());
        }

        server.SetTag("gateway.request_id", exchange.RequestId);
        // (Continued: the client's traceparent was valid, so its tracestate goes on with the trace.)
        var continued = exchange.Trace.Continued;
        exchange.Trace = TraceContext.Of(server.TraceId, server.SpanId, sampled: true, continued);
        return new RequestTrace(source, server, continued);
    }

    /// <summary>A client span for one attempt; the backend is told it is its parent.</summary>
    public Activity? AttemptStarted(Exchange exchange, Backend backend, int resend)
    {
        var method = Metrics.StatusTags.Method(exchange.Method);
        var span = Detached(_source, SpanName(method), ActivityKind.Client, _server.Context, default);
        if (span is null)
        {
            return null;
        }

        SetMethod(span, method, exchange.Method);
        span.SetTag("server.address", backend.Url.Host);
        span.SetTag("server.port", backend.Url.Port);
        span.SetTag("gateway.backend", backend.Name);
        if (resend > 0)
        {
            span.SetTag("http.request.resend_count", resend);
        }

        exchange.Trace = TraceContext.Of(span.TraceId, span.SpanId, sampled: true, _continued);
        return span;
    }

    /// <summary>Ends an attempt's span: the backend's status when it answered, the failure's kind when it did not.</summary>
    public static void AttemptEnded(Activity? span, int status, UpstreamFailure failure)
    {
        if (span is null)
        {
            return;
        }

        if (status > 0)
        {
            span.SetTag("http.response.status_code", status);
        }

        // OpenTelemetry's HTTP conventions: a client span fails on 4xx and 5xx, named by the status code.
        var error = failure is UpstreamFailure.None or UpstreamFailure.HeldBack ? (status >= 400 ? StatusText(status) : null) : failure.Label();
        if (error is not null)
        {
            span.SetTag("error.type", error);
            span.SetStatus(ActivityStatusCode.Error);
        }

        Stop(span);
    }

    /// <summary>Ends the server span with what the request came to: its route, its status, the gateway's reason for a 5xx.</summary>
    public void Completed(Exchange exchange)
    {
        var status = exchange.Client.Status;
        if (exchange.Route is { } route)
        {
            _server.DisplayName = SpanName(Metrics.StatusTags.Method(exchange.Method)) + " " + route.Id;
            _server.SetTag("http.route", route.Id);
            _server.SetTag("url.path", exchange.Path);
        }

        _server.SetTag("http.response.status_code", status);
        if (status >= 500 || exchange.ResponseCut)
        {
            // A server span fails on 5xx only: a 4xx is the client's.
            _server.SetTag("error.type", exchange.Reason ?? (exchange.ResponseCut ? "response_cut" : StatusText(status)));
            _server.SetStatus(ActivityStatusCode.Error);
        }

        Stop(_server);
    }

    private static string StatusText(int status) => status.ToString(CultureInfo.InvariantCulture);

    private static Activity? Detached(ActivitySource source, string name, ActivityKind kind, ActivityContext parent, DateTimeOffset started)
    {
        var previous = Activity.Current;
        if (previous is not null)
        {
            // A root span is a root even where the host has an activity of its own.
            Activity.Current = null;
        }

        var span = source.StartActivity(name, kind, parent, startTime: started);
        if (span is not null || previous is not null)
        {
            Activity.Current = previous;
        }

        return span;
    }

    private static void Stop(Activity span)
    {
        var previous = Activity.Current;
        span.Stop();
        if (Activity.Current != previous)
        {
            Activity.Current = previous;
        }
    }

    /// <summary>
    /// A method a client made up is <c>_OTHER</c> in tags and <c>HTTP</c> in span names (OpenTelemetry's HTTP conventions), so
    /// no client can add span names or attribute values at will; the method it sent is kept, bounded, beside it.
    /// </summary>
    private static string SpanName(string method) => method == "_OTHER" ? "HTTP" : method;

    private static void SetMethod(Activity span, string method, string original)
    {
        span.SetTag("http.request.method", method);
        if (method == "_OTHER")
        {
            span.SetTag("http.request.method_original", original.Length <= 32 ? original : original[..32]);
        }
    }
}
