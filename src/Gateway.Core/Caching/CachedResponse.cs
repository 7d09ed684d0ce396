using System.Text;

namespace Gateway.Caching;

/// <summary>
/// One stored response: its status, the headers it went out with (the backend's, after response transforms, minus
/// what is per-response), its body, when it was stored and until when it is fresh, and the request header values its
/// <c>Vary</c> names (a request with other values is a miss). Immutable once stored; shared by every hit.
/// </summary>
internal sealed class CachedResponse
{
    private const byte FormatVersion = 1;
    private static readonly byte[] Magic = "GWC"u8.ToArray();

    public required int Status { get; init; }

    public required KeyValuePair<string, string[]>[] Headers { get; init; }

    public required byte[] Body { get; init; }

    /// <summary>When it was stored, in Unix milliseconds.</summary>
    public required long StoredAt { get; init; }

    /// <summary>Until when it may be served, in Unix milliseconds.</summary>
    public required long ExpiresAt { get; init; }

    /// <summary>The age the backend gave it (its <c>Age</c> header), in seconds.</summary>
    public int InitialAge { get; init; }

    /// <summary>The request headers named by Vary (lower case) and the values the stored response was made for.</summary>
    public required KeyValuePair<string, string>[] Vary { get; init; }

    /// <summary>What the entry costs in memory, roughly: body, header text and bookkeeping.</summary>
    public long Size
    {
        get
        {
            long size = 128 + Body.Length;
            foreach (var (name, values) in Headers)
            {
                size += 2 * name.Length + 32;
                foreach (var value in values)
                {
                    size += 2 * value.Length + 8;
                }
            }

            foreach (var (name, value) in Vary)
            {
                size += 2 * (name.Length + value.Length) + 32;
            }

            return size;
        }
    }

    public bool IsFresh(long now) => now < ExpiresAt;

    /// <summary>Seconds since it was made, as the <c>Age</c> header says it.</summary>
    public long AgeAt(long now) => InitialAge + Math.Max(0, (now - StoredAt) / 1000);

    /// <summary>The first value of a stored header, or null.</summary>
    public string? Header(string name)
    {
        foreach (var (key, values) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return values.Length > 0 ? values[0] : null;
            }
        }

        return null;
    }

    /// <summary>The entry in a compact binary form (for a shared store).</summary>
    public byte[] Serialize()
    {
        using var buffer = new MemoryStream(Body.Length + 256);
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Status);
            writer.Write(StoredAt);
            writer.Write(ExpiresAt);
            writer.Write(InitialAge);
            writer.Write(Headers.Length);
            foreach (var (name, values) in Headers)
            {
                writer.Write(name);
                writer.Write(values.Length);
                foreach (var value in values)
                {
                    writer.Write(value);
                }
            }

            WritePairs(writer, Vary);
            writer.Write(Body.Length);
            writer.Write(Body);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Reads an entry written by <see cref="Serialize"/>; null for anything else (another version, a truncated or foreign
    /// value): what a shared store holds is not trusted to be well formed.
    /// </summary>
    public static CachedResponse? Deserialize(byte[] data, long maxBody)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
            if (data.Length < 4 || !reader.ReadBytes(3).AsSpan().SequenceEqual(Magic) || reader.ReadByte() != FormatVersion)
            {
                return null;
            }

            var status = reader.ReadInt32();
            var stored = reader.ReadInt64();
            var expires = reader.ReadInt64();
            var initialAge = reader.ReadInt32();
            var headers = ReadHeaders(reader, data.Length);
            var vary = ReadPairs(reader, data.Length);
            var length = reader.ReadInt32();
            if (status is < 200 or > 599 || headers is null || vary is null || length < 0 || length > maxBody || length > data.Length)
            {
                return null;
            }

            var body = reader.ReadBytes(length);
            if (body.Length != length || reader.BaseStream.Position != data.Length)
            {
                return null;
            }

            return new CachedResponse { Status = status, StoredAt = stored, ExpiresAt = expires, InitialAge = initialAge, Headers = headers, Vary = vary, Body = body };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or DecoderFallbackException or ArgumentException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static void WritePairs(BinaryWriter writer, KeyValuePair<string, string>[] pairs)
    {
        writer.Write(pairs.Length);
        foreach (var (name, value) in pairs)
        {
            writer.Write(name);
            writer.Write(value);
        }
    }

    private static KeyValuePair<string, string[]>[]? ReadHeaders(BinaryReader reader, int bound)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > 1000 || count > bound)
        {
            return null;
        }

        var headers = new KeyValuePair<string, string[]>[count];
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var valueCount = reader.ReadInt32();
            if (!IsHeaderName(name) || valueCount < 1 || valueCount > 1000 || valueCount > bound)
            {
                return null;
            }

            var values = new string[valueCount];
            for (var j = 0; j < valueCount; j++)
            {
                values[j] = reader.ReadString();
                if (!IsHeaderValue(values[j]))
                {
                    return null;
                }
            }

            headers[i] = new(name, values);
        }

        return headers;
    }

    // Never a header the gateway could not have stored (a split response from a tampered store).
    private static bool IsHeaderName(string name) => Configuration.Validation.ValidationRules.IsToken(name) && !CacheStage.IsPerResponse(name);

    private static bool IsHeaderValue(string value) => value.AsSpan().IndexOfAny('\r', '\n', '\0') < 0;

    private static KeyValuePair<string, string>[]? ReadPairs(BinaryReader reader, int bound)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > 1000 || count > bound)
        {
            return null;
        }

        var pairs = new KeyValuePair<string, string>[count];
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var value = reader.ReadString();
            if (!IsHeaderName(name) || !IsHeaderValue(value))
            {
                return null;
            }

            pairs[i] = new(name, value);
        }

        return pairs;
    }
}
