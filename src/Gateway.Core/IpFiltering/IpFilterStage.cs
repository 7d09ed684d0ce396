using Gateway.Configuration;
using Gateway.Configuration.Validation;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Gateway.IpFiltering;

/// <summary>A route's IP filter, compiled: the blacklist wins, then the whitelist, then the default action.</summary>
internal sealed record IpFilterPolicy(IpRangeSet Whitelist, IpRangeSet Blacklist, bool DenyByDefault, bool Global)
{
    public bool Allows(System.Net.IPAddress? client) =>
        client is null
            ? !DenyByDefault
            : !Blacklist.Contains(client) && (Whitelist.Contains(client) || !DenyByDefault);
}

/// <summary>
/// IP allow and deny lists on the client address (as the trusted-proxy rules resolve it, never a header a client
/// sets for itself): 403 for an address the filter refuses. A route's own <c>ip_filter</c> replaces the global one.
/// </summary>
internal sealed class IpFilterStage : Stage<IpFilterPolicy>
{
    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => IpFilterValidator.Validate(config, diagnostics);

    protected override IpFilterPolicy? CompilePolicy(StageCompilation compilation)
    {
        var own = compilation.RouteConfig!.IpFilter;
        var filter = own ?? compilation.Config.IpFilter;
        if (filter is null)
        {
            return null;
        }

        // The global filter is the same for every route: compiled once per snapshot.
        return own is null ? compilation.Once(static c => Compile(c.Config.IpFilter!, global: true)) : Compile(own, global: false);
    }

    private static IpFilterPolicy Compile(IpFilterConfig filter, bool global) => new(
        IpRangeSet.Build(filter.Whitelist.Select(Parse)),
        IpRangeSet.Build(filter.Blacklist.Select(Parse)),
        filter.DefaultAction == "deny",
        global);

    private static System.Net.IPNetwork Parse(string text) =>
        ValidationRules.TryParseNetwork(text, out var network, out _) ? network : throw new InvalidOperationException($"'{text}' was validated as a network");

    protected override ValueTask<bool> Request(Exchange exchange, IpFilterPolicy policy)
    {
        if (policy.Allows(exchange.ClientIp))
        {
            return Next;
        }

        exchange.Respond(Problems.Create(exchange, StatusCodes.Status403Forbidden, AnswerReasons.ForbiddenIp, "urn:gateway:problem:ip-denied", "Forbidden",
            "Requests from this address are not allowed here."));
        return Stop;
    }

    protected override string? Describe(IpFilterPolicy policy) =>
        $"ip_filter({(policy.Global ? "global, " : "")}whitelist {policy.Whitelist.Count}, blacklist {policy.Blacklist.Count}, default {(policy.DenyByDefault ? "deny" : "allow")})";
}
