using System.Globalization;
using System.Text;

namespace Gateway.Http1;

/// <summary>The <c>Date</c> header line of responses, formatted once a second (RFC 9110 section 6.6.1).</summary>
internal sealed class DateHeader(TimeProvider time)
{
    private Formatted _current = new(-1, []);

    /// <summary><c>Date: Tue, 01 Dec 2026 12:00:00 GMT\r\n</c> for the current second.</summary>
    public ReadOnlySpan<byte> Current
    {
        get
        {
            var now = time.GetUtcNow();
            var second = now.ToUnixTimeSeconds();
            var current = Volatile.Read(ref _current);
            if (current.Second != second)
            {
                current = new Formatted(second, Encoding.ASCII.GetBytes("Date: " + now.ToString("r", CultureInfo.InvariantCulture) + "\r\n"));
                Volatile.Write(ref _current, current);
            }

            return current.Line;
        }
    }

    private sealed record Formatted(long Second, byte[] Line);
}
