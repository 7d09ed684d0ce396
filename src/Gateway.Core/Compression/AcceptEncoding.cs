using Microsoft.Extensions.Primitives;

namespace Gateway.Compression;

/// <summary>
/// Picks the content coding for a response from the request's <c>Accept-Encoding</c> (RFC 9110 section 12.5.3):
/// weights (<c>q</c>) decide, <c>q=0</c> refuses, <c>*</c> stands for every coding not listed, codings compare
/// without case, and a part that is not <c>coding[;q=weight]</c> is ignored. Among equal weights the server's
/// preference (<see cref="ContentCoding.ByPreference"/>) decides. The body stays as it is when no coding is
/// acceptable, and when the client weighs <c>identity</c> higher than every coding it accepts.
/// </summary>
internal static class AcceptEncoding
{
    /// <summary>At most this many characters of the header are read; a longer header gets no coding (real clients send under 100).</summary>
    public const int MaxChars = 2048;

    /// <summary>At most this many list elements are read; a longer list gets no coding.</summary>
    public const int MaxElements = 32;

    private const int Unset = -1;

    /// <summary>The coding to apply, or null for none (no header, nothing acceptable, identity preferred).</summary>
    public static ContentCoding? Choose(StringValues header)
    {
        if (header.Count == 0)
        {
            // No Accept-Encoding: any coding would be allowed, but clients that can decode say so; sent as is.
            return null;
        }

        var codings = ContentCoding.ByPreference;
        Span<int> weights = stackalloc int[codings.Length];
        weights.Fill(Unset);
        var wildcard = Unset;
        var identity = Unset;
        var chars = 0;
        var elements = 0;
        foreach (var value in header)
        {
            if (value is null)
            {
                continue;
            }

            var rest = value.AsSpan();
            chars += rest.Length;
            if (chars > MaxChars)
            {
                // A list cut short could have lost a refusal ("gzip;q=0" cut to "gzip", or dropped while "*" counts):
                // a header past the bounds gets the body as it is.
                return null;
            }

            while (rest.Length > 0)
            {
                var comma = rest.IndexOf(',');
                var element = comma < 0 ? rest : rest[..comma];
                rest = comma < 0 ? [] : rest[(comma + 1)..];
                element = element.Trim(" \t");
                if (element.IsEmpty)
                {
                    continue;
                }

                if (++elements > MaxElements)
                {
                    return null;
                }

                if (!TryParse(element, out var coding, out var weight))
                {
                    continue;
                }

                if (coding.SequenceEqual("*"))
                {
                    wildcard = weight;
                }
                else if (coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    identity = weight;
                }
                else
                {
                    for (var i = 0; i < codings.Length; i++)
                    {
                        if (codings[i].IsNamed(coding))
                        {
                            // Listed twice: the higher weight (a client that repeats itself means it at least that much).
                            weights[i] = Math.Max(weights[i], weight);
                        }
                    }
                }
            }
        }

        ContentCoding? best = null;
        var bestWeight = 0;
        for (var i = 0; i < codings.Length; i++)
        {
            var weight = weights[i] == Unset ? wildcard : weights[i];
            if (weight > bestWeight)
            {
                best = codings[i];
                bestWeight = weight;
            }
        }

        return best is not null && identity <= bestWeight ? best : null;
    }

    /// <summary>Reads <c>coding *( OWS ";" OWS param )</c>; the weight in thousandths (1000 when not given).</summary>
    private static bool TryParse(ReadOnlySpan<char> element, out ReadOnlySpan<char> coding, out int weight)
    {
        weight = 1000;
        var semicolon = element.IndexOf(';');
        coding = (semicolon < 0 ? element : element[..semicolon]).TrimEnd(" \t");
        if (!Configuration.Validation.ValidationRules.IsToken(coding))
        {
            return false;
        }

        if (semicolon < 0)
        {
            return true;
        }

        var parameter = element[(semicolon + 1)..].Trim(" \t");
        if (parameter.Length < 2 || (parameter[0] | 0x20) != 'q' || parameter[1] != '=')
        {
            // Accept-Encoding defines only the weight; anything else makes the element malformed.
            return false;
        }

        return TryParseWeight(parameter[2..], out weight);
    }

    /// <summary><c>qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )</c>, in thousandths.</summary>
    private static bool TryParseWeight(ReadOnlySpan<char> text, out int weight)
    {
        weight = 0;
        if (text.IsEmpty || text.Length > 5 || text[0] is not ('0' or '1'))
        {
            return false;
        }

        var whole = text[0] - '0';
        if (text.Length == 1)
        {
            weight = whole * 1000;
            return true;
        }

        if (text[1] != '.')
        {
            return false;
        }

        var fraction = 0;
        var scale = 100;
        foreach (var c in text[2..])
        {
            if (c is < '0' or > '9' || (whole == 1 && c != '0'))
            {
                return false;
            }

            fraction += (c - '0') * scale;
            scale /= 10;
        }

        weight = whole * 1000 + fraction;
        return true;
    }
}
