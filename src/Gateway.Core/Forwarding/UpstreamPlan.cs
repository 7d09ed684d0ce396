using Gateway.Pipeline;
using Microsoft.Extensions.Primitives;

namespace Gateway.Forwarding;

/// <summary>The request a backend would receive, described offline (for explain and route tests).</summary>
internal sealed record UpstreamPlan(string Method, string Url, Backend Backend, IReadOnlyList<KeyValuePair<string, string>> Headers, IReadOnlyList<string> Removed);

/// <summary>Describes the upstream request offline with the senders' own rules (<see cref="UpstreamHeaders"/>, <see cref="UpstreamShape"/>).</summary>
internal static class UpstreamPlanner
{
    public static UpstreamPlan Plan(Exchange exchange, UpstreamRoute route)
    {
        // The backend the balancer would pick for this request (exact for the hash strategies).
        var backend = route.Backends.Select(new LoadBalancing.BalancingInput(exchange.RequestHeaders, exchange.ClientIp), null) ?? route.Backends.Backends[0];
        var sink = new ListSink([], []);
        UpstreamHeaders.Write(exchange, route.Shape, backend.HostHeader, exchange.RequestHeaders.Connection, ref sink);
        var url = route.Shape.Target(backend.Prefix, exchange);
        return new UpstreamPlan(exchange.Method, url, backend, sink.Headers, sink.Removed);
    }

    private readonly record struct ListSink(List<KeyValuePair<string, string>> Headers, List<string> Removed) : IUpstreamHeaderSink
    {
        public void Add(string name, StringValues values) => Headers.Add(new(name, values.ToString()));

        public void Dropped(string name) => Removed.Add(name);
    }
}
