using System.Net;

namespace Gateway.LoadBalancing;

/// <summary>FNV-1a with a final avalanche: stable across processes, so every replica maps keys alike.</summary>
internal static class StableHash
{
    public static ulong Of(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return Mix(hash);
    }

    public static ulong Of(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        var hash = 14695981039346656037UL;
        foreach (var b in bytes[..written])
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return Mix(hash);
    }

    /// <summary>FNV's low bits mix poorly for similar keys; a final avalanche spreads them evenly.</summary>
    private static ulong Mix(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        hash ^= hash >> 33;
        hash *= 0xc4ceb9fe1a85ec53UL;
        hash ^= hash >> 33;
        return hash;
    }
}
