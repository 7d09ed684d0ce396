using System.Text;

namespace Gateway.Http1;

/// <summary>
/// The header values of the last head read on one connection, by line: a client or a backend sends the same values
/// request after request (User-Agent, Accept, Server, Content-Type), so a value whose bytes equal the last one at that
/// line under the same name is the same string again instead of a new one. Only ASCII values are kept; the cache
/// belongs to one connection and is used by one request at a time.
/// </summary>
internal sealed class HeaderValueCache
{
    private const int Lines = 32;
    private const int MaxValueLength = 256;

    private readonly string?[] _names = new string?[Lines];
    private readonly string?[] _values = new string?[Lines];

    /// <summary>The value at header line <paramref name="line"/> as a string; <paramref name="value"/> is ASCII.</summary>
    public string Get(int line, string name, ReadOnlySpan<byte> value)
    {
        if ((uint)line >= Lines || value.Length > MaxValueLength)
        {
            return Encoding.ASCII.GetString(value);
        }

        if (ReferenceEquals(_names[line], name) && _values[line] is { } cached && cached.Length == value.Length && Ascii.Equals(value, cached))
        {
            return cached;
        }

        var text = Encoding.ASCII.GetString(value);
        _names[line] = name;
        _values[line] = text;
        return text;
    }
}
