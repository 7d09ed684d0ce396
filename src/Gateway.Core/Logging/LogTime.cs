using System.Globalization;
using System.Text.Json;

namespace Gateway.Logging;

/// <summary>Timestamps of log lines: UTC, millisecond precision, ISO 8601 (<c>2026-01-31T12:00:00.123Z</c>).</summary>
internal static class LogTime
{
    public const string Format = "yyyy-MM-ddTHH:mm:ss.fffZ";

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> name, DateTimeOffset time)
    {
        Span<char> buffer = stackalloc char[32];
        time.UtcDateTime.TryFormat(buffer, out var written, Format, CultureInfo.InvariantCulture);
        writer.WriteString(name, buffer[..written]);
    }
}
