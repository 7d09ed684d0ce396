using Gateway.Configuration;
using Gateway.Pipeline;
using Microsoft.Extensions.Logging;

namespace Gateway.Transforms;

/// <summary>
/// Request and response transforms of a route. The request side works out what depends on the request (template
/// values, the rewritten path) and refuses with 400 what cannot be sent (a control character copied from a header or
/// a claim, a rewrite that timed out or made an unsafe path); the upstream request itself is shaped from the result
/// by <see cref="Forwarding.UpstreamShape"/> and <see cref="Forwarding.UpstreamHeaders"/>, after the gateway's own
/// header rules. The response side edits the headers of the route's own responses (its backend's or its mock's),
/// never the gateway's error answers.
/// </summary>
internal sealed partial class TransformStage : Stage<TransformPolicy>
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => TransformValidator.Validate(config, diagnostics);

    protected override TransformPolicy? CompilePolicy(StageCompilation compilation)
    {
        var route = compilation.RouteConfig!;
        if (route.Transform is not { } transform)
        {
            return null;
        }

        var request = transform.Request is { } r && HasAny(r) ? new RequestTransform(r, route.AllowEncodedSlashes) : null;
        var responseEdits = transform.Response is { } s ? HeaderEdits.Build(s.AddHeaders, s.SetHeaders, s.RemoveHeaders, request: false) : null;
        if (request is null && responseEdits is null)
        {
            return null;
        }

        if (request?.Headers is { } headers)
        {
            foreach (var edit in headers.Edits)
            {
                // X_Gateway_Version next to the X-Gateway-Version the transform decides would read as the same header to a
                // CGI-style backend: such spellings from the client never pass on this route.
                compilation.Upstream!.Own(edit.Name);
            }
        }

        return new TransformPolicy(request, responseEdits is null ? null : new ResponseTransform(responseEdits),
            compilation.Loggers.CreateLogger("Gateway.Transforms"));
    }

    private static bool HasAny(RequestTransformConfig r) =>
        r.AddHeaders is { Count: > 0 } || r.SetHeaders is { Count: > 0 } || r.RemoveHeaders is { Count: > 0 } || r.PathRewrites is { Count: > 0 }
        || r.QueryParams is { Add.Count: > 0 } or { Set.Count: > 0 } or { Remove.Count: > 0 };

    protected override ValueTask<bool> Request(Exchange exchange, TransformPolicy policy)
    {
        if (policy.Request is not { } transform)
        {
            return Next;
        }

        if (transform.Static is { } constant)
        {
            exchange.RequestEdits = constant;
            return Next;
        }

        var values = transform.Constants;
        if (transform.Dynamic)
        {
            values = new string?[values.Length];
            var headerCount = transform.HeaderCount;
            for (var i = 0; i < values.Length; i++)
            {
                var template = i < headerCount ? transform.Headers!.Edits[i].Value : transform.Query[i - headerCount].Value;
                if (template is null)
                {
                    continue;
                }

                switch (template.Render(exchange, header: i < headerCount, out var value))
                {
                    case TemplateOutcome.Value:
                        values[i] = value;
                        break;
                    case TemplateOutcome.Unsafe:
                        exchange.Respond(Problems.BadRequest(exchange, AnswerReasons.BadTransformValue,
                            "A value this route sends upstream would contain a control character copied from the request (a header or a token claim)."));
                        return Stop;
                }
            }
        }

        string? path = null;
        if (transform.Rewrites.Length > 0)
        {
            path = PathRewrite.ApplyAll(transform.Rewrites, exchange.Route!.UpstreamPath(exchange.Path), transform.AllowEncodedSlashes, out var failure, out var failed);
            if (failure == RewriteFailure.Timeout)
            {
                Log.RewriteTimedOut(policy.Logger, exchange.RequestId, exchange.Route.Id, failed, PathRewrite.BacktrackingTimeout.TotalMilliseconds);
                exchange.Respond(Problems.BadRequest(exchange, AnswerReasons.PathRewriteTimeout,
                    "This path could not be rewritten in time for this route."));
                return Stop;
            }

            if (failure == RewriteFailure.Unsafe)
            {
                exchange.Respond(Problems.BadRequest(exchange, AnswerReasons.BadRewrittenPath,
                    "This route's path rewrite makes a path that cannot be sent (a dot segment, an encoded slash or NUL, '?' or '#')."));
                return Stop;
            }
        }

        exchange.RequestEdits = new RequestEdits(transform, values, path);
        return Next;
    }

    protected override void Response(Exchange exchange, TransformPolicy policy)
    {
        if (policy.Response is not { } transform || (exchange.Answer is { } answer && answer.Reason != AnswerReasons.Mock))
        {
            // The gateway's own answers (a 502, a 400 of this stage) are the same on every route: not the route's to edit.
            return;
        }

        Apply(exchange, transform.Headers.Edits);
    }

    /// <summary>
    /// Edits the headers of a response about to go out (the route's own; the cache replays a stored one through the
    /// edits that depend on the request).
    /// </summary>
    public static void Apply(Exchange exchange, HeaderEdit[] edits)
    {
        var headers = exchange.Client.ResponseHeaders;
        foreach (var edit in edits)
        {
            switch (edit.Kind)
            {
                case EditKind.Remove:
                    headers.Remove(edit.Name);
                    break;
                case EditKind.Add when headers.ContainsKey(edit.Name):
                    break;
                default:
                    // A value that is missing for this request, or could not be sent as it is, is not sent; a set header
                    // then goes, so the backend's value never passes as the transform's.
                    if (edit.Value!.Render(exchange, header: true, out var value) == TemplateOutcome.Value)
                    {
                        headers[edit.Name] = value;
                    }
                    else if (edit.Kind == EditKind.Set)
                    {
                        headers.Remove(edit.Name);
                    }

                    break;
            }
        }
    }

    protected override string? Describe(TransformPolicy policy)
    {
        var parts = new List<string>();
        if (policy.Request is { } request)
        {
            var items = new List<string>();
            if (request.Headers is { } headers)
            {
                items.Add("headers " + headers.Describe());
            }

            if (request.Host is not null)
            {
                items.Add("host");
            }

            if (request.Rewrites.Length > 0)
            {
                items.Add($"rewrites {request.Rewrites.Length}");
            }

            if (request.Query.Length > 0)
            {
                items.Add($"query {request.Query.Length}");
            }

            parts.Add("request: " + string.Join(", ", items));
        }

        if (policy.Response is { } response)
        {
            parts.Add("response: headers " + response.Headers.Describe());
        }

        return $"transform({string.Join("; ", parts)})";
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning,
            "request {RequestId}: route {Route}'s path_rewrites[{Index}] ran past its {TimeoutMs} ms match timeout and was answered 400; the pattern needs the backtracking engine, rewrite it without backreferences or lookarounds")]
        public static partial void RewriteTimedOut(ILogger logger, string requestId, string route, int index, double timeoutMs);
    }
}
