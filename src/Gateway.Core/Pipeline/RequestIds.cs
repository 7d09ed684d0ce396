using Microsoft.Extensions.Primitives;

namespace Gateway.Pipeline;

/// <summary>The <c>X-Request-Id</c> of a request: the client's when it is a sane token, otherwise a new one.</summary>
internal static class RequestIds
{
    public const string HeaderName = "X-Request-Id";

    public const int MaxLength = 128;

    public static string From(StringValues incoming, TimeProvider time) =>
        incoming.Count == 1 && IsValid(incoming[0]) ? incoming[0]! : New(time);

    /// <summary>
    /// 32 hex digits: 48 bits of milliseconds (ids sort by time in logs) and 80 random bits. An id names a
    /// request; it is not a secret, so the fast generator serves.
    /// </summary>
    private static string New(TimeProvider time)
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, time.GetUtcNow().ToUnixTimeMilliseconds() << 16);
        Random.Shared.NextBytes(bytes[6..]);
        return Convert.ToHexStringLower(bytes);
    }

    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '+' or '/' or '=' or '@' or '~'))
            {
                return false;
            }
        }

        return true;
    }
}
