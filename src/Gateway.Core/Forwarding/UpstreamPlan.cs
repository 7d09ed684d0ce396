using System.Net;
using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Forwarding;

/// <summary>The request a backend would receive, described offline (for explain and route tests).</summary>
internal sealed record UpstreamPlan(string Method, string Url, Backend Backend, IReadOnlyList<KeyValuePair<string, string>> Headers, IReadOnlyList<string> Removed);

/// <summary>
/// Describes the upstream request offline with the forwarder's own header rules (<see cref="UpstreamHeaders"/>).
/// </summary>
internal static class UpstreamPlanner
{
    public static UpstreamPlan Plan(HttpRequest request, CompiledRoute route, NormalizedTarget target, RuntimeConfig config, IPAddress peer, string requestId,
        TraceContext trace, Authentication.Identity? identity)
    {
        // The backend the balancer would pick for this request (exact for the hash strategies).
        var backend = route.Backends!.Select(request.HttpContext, peer, null) ?? route.Backends.Backends[0];
        var facts = new UpstreamRequestFacts(request, HopByHop.AsServerSees(request.Headers.Connection), route, config, peer,
            HasUnderscoreHeaders: true, requestId, trace, identity, backend.HostHeader);
        var sink = new ListSink([], []);
        UpstreamHeaders.Write(facts, ref sink);
        var query = route.Auth is { } policy ? policy.UpstreamQuery(target.Query) : target.Query;
        var url = backend.Prefix + route.UpstreamPath(target.Path) + query;
        return new UpstreamPlan(request.Method, url, backend, sink.Headers, sink.Removed);
    }

    private readonly record struct ListSink(List<KeyValuePair<string, string>> Headers, List<string> Removed) : IUpstreamHeaderSink
    {
        public void Add(string name, StringValues values) => Headers.Add(new(name, values.ToString()));

        public void Dropped(string name) => Removed.Add(name);
    }
}
