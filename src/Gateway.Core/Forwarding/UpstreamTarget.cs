using System.Buffers;
using System.Text;

namespace Gateway.Forwarding;

/// <summary>How a request target goes to a backend: the same bytes whichever sender writes it.</summary>
internal static class UpstreamTarget
{
    private static readonly SearchValues<char> PlainTargetChars =
        SearchValues.Create("!$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~");

    /// <summary>
    /// The text with everything a request line cannot carry percent-encoded as UTF-8 (<c>|</c> is <c>%7C</c>); what is
    /// already an escape, or a lone <c>%</c>, is left as the client sent it. The same string when nothing needs it.
    /// </summary>
    public static string Escape(string text)
    {
        if (!text.AsSpan().ContainsAnyExcept(PlainTargetChars))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.IsAscii && PlainTargetChars.Contains((char)rune.Value))
            {
                builder.Append((char)rune.Value);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length])
            {
                builder.Append('%').Append(Hex(b >> 4)).Append(Hex(b & 0xF));
            }
        }

        return builder.ToString();
    }

    private static char Hex(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);
}
