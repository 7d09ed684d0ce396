using System.Net;
using Microsoft.Extensions.Primitives;

namespace Gateway.Forwarding;

/// <summary>The X-Forwarded-* values the backend receives.</summary>
internal readonly record struct ForwardedValues(string For, string Proto, string Host);

/// <summary>
/// Builds <c>X-Forwarded-For/Proto/Host</c>. From a trusted proxy the incoming chain is kept and the peer
/// appended; from anyone else the client's own values are discarded, so they cannot be forged.
/// </summary>
internal static class ForwardedHeaders
{
    public const string For = "X-Forwarded-For";
    public const string Proto = "X-Forwarded-Proto";
    public const string Host = "X-Forwarded-Host";
    public const string Forwarded = "Forwarded";

    public static ForwardedValues Compute(IPAddress? peer, bool peerTrusted, StringValues incomingFor, StringValues incomingProto, StringValues incomingHost, string scheme, string host)
    {
        var peerText = peer is null ? "unknown" : peer.ToString();
        var chain = peerTrusted && incomingFor.Count > 0 ? string.Join(", ", incomingFor.ToArray()) + ", " + peerText : peerText;
        var proto = peerTrusted && incomingProto.Count == 1 && incomingProto[0] is "http" or "https" ? incomingProto[0]! : scheme;
        var forwardedHost = peerTrusted && incomingHost.Count == 1 && !string.IsNullOrEmpty(incomingHost[0]) ? incomingHost[0]! : host;
        return new ForwardedValues(chain, proto, forwardedHost);
    }
}
