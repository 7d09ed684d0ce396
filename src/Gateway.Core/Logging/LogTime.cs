using System.Text.Json;

namespace Gateway.Logging;

/// <summary>Timestamps of log lines: UTC, millisecond precision, ISO 8601 (<c>2026-01-31T12:00:00.123Z</c>).</summary>
internal static class LogTime
{
    public const string Format = "yyyy-MM-ddTHH:mm:ss.fffZ";

    /// <summary>The bytes of a timestamp in <see cref="Format"/>.</summary>
    public const int Length = 24;

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> name, DateTimeOffset time)
    {
        Span<byte> text = stackalloc byte[Length];
        Format24(time.UtcDateTime, text);
        writer.WriteString(name, text);
    }

    /// <summary>Writes the 24 bytes of <see cref="Format"/> by hand: the general formatter costs more than the rest of a log line.</summary>
    public static void Format24(DateTime utc, Span<byte> into)
    {
        Digits(into[..4], utc.Year);
        into[4] = (byte)'-';
        Digits(into.Slice(5, 2), utc.Month);
        into[7] = (byte)'-';
        Digits(into.Slice(8, 2), utc.Day);
        into[10] = (byte)'T';
        Digits(into.Slice(11, 2), utc.Hour);
        into[13] = (byte)':';
        Digits(into.Slice(14, 2), utc.Minute);
        into[16] = (byte)':';
        Digits(into.Slice(17, 2), utc.Second);
        into[19] = (byte)'.';
        Digits(into.Slice(20, 3), utc.Millisecond);
        into[23] = (byte)'Z';
    }

    private static void Digits(Span<byte> into, int value)
    {
        for (var i = into.Length - 1; i >= 0; i--)
        {
            into[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}
