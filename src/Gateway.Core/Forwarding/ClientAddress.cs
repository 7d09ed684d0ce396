using System.Net;
using Gateway.Configuration;
using Microsoft.Extensions.Primitives;

namespace Gateway.Forwarding;

/// <summary>
/// Who the client is. The TCP peer, unless the peer is a trusted proxy: then <c>X-Forwarded-For</c> (or
/// <c>Forwarded</c>) is read from the right, skipping trusted hops, and the first untrusted hop is the client.
/// </summary>
internal static class ClientAddress
{
    public static IPAddress? Resolve(Pipeline.Exchange exchange)
    {
        var config = exchange.Config;
        var peer = exchange.Peer;
        if (peer is null || config.TrustedProxies.Length == 0 || !config.IsTrustedProxy(peer))
        {
            return peer;
        }

        var headers = exchange.RequestHeaders;
        var forwardedFor = headers["X-Forwarded-For"];
        if (forwardedFor.Count > 0)
        {
            return FromChain(Hops(forwardedFor, forwardedStyle: false), config, peer);
        }

        var forwarded = headers["Forwarded"];
        return forwarded.Count > 0 ? FromChain(Hops(forwarded, forwardedStyle: true), config, peer) : peer;
    }

    public static IPAddress? Normalize(IPAddress? address) => address switch
    {
        { IsIPv4MappedToIPv6: true } => address.MapToIPv4(),

        // A zone (fe80::1%eth0) says which interface, not who: the same client whatever the zone.
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6, ScopeId: not 0 } => new IPAddress(address.GetAddressBytes()),
        _ => address,
    };

    private static IPAddress FromChain(List<string> hops, RuntimeConfig config, IPAddress peer)
    {
        var client = peer;
        for (var i = hops.Count - 1; i >= 0; i--)
        {
            if (!TryParseHop(hops[i], out var hop))
            {
                // Garbage in the chain: trust nothing left of it.
                return client;
            }

            client = hop;
            if (!config.IsTrustedProxy(hop))
            {
                return hop;
            }
        }

        return client;
    }

    private static List<string> Hops(StringValues values, bool forwardedStyle)
    {
        var hops = new List<string>();
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var element in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!forwardedStyle)
                {
                    hops.Add(element);
                    continue;
                }

                foreach (var pair in element.Split(';', StringSplitOptions.TrimEntries))
                {
                    if (pair.StartsWith("for=", StringComparison.OrdinalIgnoreCase))
                    {
                        hops.Add(pair[4..].Trim('"'));
                    }
                }
            }
        }

        return hops;
    }

    private static bool TryParseHop(string hop, out IPAddress address)
    {
        var text = hop;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            text = close > 0 ? text[1..close] : text;
        }
        else if (text.Count(c => c == ':') == 1)
        {
            text = text[..text.IndexOf(':', StringComparison.Ordinal)];
        }

        // Only the forms proxies write: four decimal octets, or IPv6 without a zone. The shorthands IPAddress also reads
        // (127.1, 2130706441, 0x7f.1, octal 0177.0.0.1) are garbage here, as they are in config.
        if ((text.Contains(':', StringComparison.Ordinal) ? !text.Contains('%', StringComparison.Ordinal) : IsDottedQuad(text))
            && IPAddress.TryParse(text, out var parsed))
        {
            address = Normalize(parsed)!;
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    private static bool IsDottedQuad(string text)
    {
        var parts = 0;
        foreach (var range in text.AsSpan().Split('.'))
        {
            var part = text.AsSpan()[range];
            if (++parts > 4 || part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || part.ContainsAnyExceptInRange('0', '9')
                || int.Parse(part, System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return parts == 4;
    }
}
