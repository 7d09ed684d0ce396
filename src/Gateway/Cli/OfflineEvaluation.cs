using System.Net;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.Cli;

/// <summary>What the gateway would do with a request: the stages' own decisions, run offline.</summary>
internal sealed record OfflineOutcome(Exchange Exchange)
{
    /// <summary>The status the client would get (200 for a request that reaches a backend).</summary>
    public int Status => Exchange.Answer?.Status ?? StatusCodes.Status200OK;

    public string? Detail => Exchange.Answer?.Detail;

    /// <summary>The Allow header of a 405.</summary>
    public string? Allow => Exchange.Answer is { HeaderName: "Allow" } answer ? answer.HeaderValue : null;

    /// <summary>The route's mock answered (no backend is called).</summary>
    public bool Mocked => Exchange.Route?.Policy<ForwardPolicy>()?.Mock is not null && Exchange.StageCursor == GatewayFeatures.IndexOf<ForwardStage>();

    /// <summary>The request would reach a backend: this is what it would receive.</summary>
    public UpstreamPlan? Plan => Exchange.Plan;
}

internal static class OfflineEvaluation
{
    public static async Task<(OfflineOutcome? Outcome, string? Error)> EvaluateAsync(RuntimeConfig runtime, string method, string url, IEnumerable<string> headerLines, IPAddress peer)
    {
        if (!OfflineChannel.TryCreate(runtime, method, url, headerLines, peer, out var exchange, out var error))
        {
            return (null, error);
        }

        await OfflineChannel.RunAsync(exchange);
        return (new OfflineOutcome(exchange), null);
    }
}
