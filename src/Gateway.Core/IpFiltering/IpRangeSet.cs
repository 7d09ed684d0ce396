using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Gateway.IpFiltering;

/// <summary>
/// A set of IPv4 and IPv6 networks as sorted, merged address ranges: a lookup is a binary search, so a list of
/// thousands of blocks costs a few comparisons per request. IPv4-mapped IPv6 (<c>::ffff:10.0.0.1</c>) is IPv4 here,
/// in the networks (of /96 or longer) as in the addresses looked up; other IPv6 networks hold IPv6 addresses only,
/// so <c>::/0</c> means "every IPv6 client", as in other tools.
/// </summary>
internal sealed class IpRangeSet
{
    private readonly (uint Start, uint End)[] _v4;
    private readonly (UInt128 Start, UInt128 End)[] _v6;

    private IpRangeSet((uint, uint)[] v4, (UInt128, UInt128)[] v6)
    {
        _v4 = v4;
        _v6 = v6;
    }

    public int Count => _v4.Length + _v6.Length;

    public static IpRangeSet Build(IEnumerable<IPNetwork> networks)
    {
        var v4 = new List<(uint, uint)>();
        var v6 = new List<(UInt128, UInt128)>();
        foreach (var network in networks)
        {
            var address = network.BaseAddress;
            var prefix = network.PrefixLength;
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 && prefix >= 96)
            {
                (address, prefix) = (address.MapToIPv4(), prefix - 96);
            }

            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                var start = ToUInt32(address);
                var size = prefix == 0 ? uint.MaxValue : (1u << (32 - prefix)) - 1;
                v4.Add((start, start + size));
            }
            else
            {
                var start = ToUInt128(address);
                var size = prefix == 0 ? UInt128.MaxValue : (UInt128.One << (128 - prefix)) - 1;
                v6.Add((start, start + size));
            }
        }

        return new IpRangeSet(Merge(v4, uint.MaxValue), Merge(v6, UInt128.MaxValue));
    }

    public bool Contains(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return Find(_v4, ToUInt32(address));
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6 && Find(_v6, ToUInt128(address));
    }

    private static bool Find<T>((T Start, T End)[] ranges, T value)
        where T : IComparable<T>
    {
        // The last range that starts at or before the value is the only one that can hold it.
        int low = 0, high = ranges.Length - 1, found = -1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            if (ranges[middle].Start.CompareTo(value) <= 0)
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return found >= 0 && ranges[found].End.CompareTo(value) >= 0;
    }

    private static (T, T)[] Merge<T>(List<(T Start, T End)> ranges, T max)
        where T : IComparable<T>, System.Numerics.IIncrementOperators<T>
    {
        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        var merged = new List<(T Start, T End)>(ranges.Count);
        foreach (var range in ranges)
        {
            if (merged.Count > 0)
            {
                var last = merged[^1];
                // Overlapping or adjacent (the last one ends right before this one starts): one range.
                if (last.End.CompareTo(max) == 0 || range.Start.CompareTo(Next(last.End)) <= 0)
                {
                    if (range.End.CompareTo(last.End) > 0)
                    {
                        merged[^1] = (last.Start, range.End);
                    }

                    continue;
                }
            }

            merged.Add(range);
        }

        return [.. merged];

        static T Next(T value) => ++value;
    }

    private static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static UInt128 ToUInt128(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
