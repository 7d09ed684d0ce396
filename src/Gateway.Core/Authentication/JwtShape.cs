using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;

namespace Gateway.Authentication;

/// <summary>
/// Strict structure checks before a token is validated, so the gateway and a backend that reads the token
/// itself can never disagree about it: exactly three parts in canonical base64url, no duplicate JSON members,
/// no <c>crit</c> extensions (none are supported), no nested tokens (<c>cty: JWT</c>), numeric time claims.
/// </summary>
internal static class JwtShape
{
    public static string? Problem(string token)
    {
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second < 0 || token.IndexOf('.', second + 1) >= 0)
        {
            return token.Count(c => c == '.') == 4 ? "Encrypted tokens (JWE) are not accepted." : "The token is not a well-formed JWT.";
        }

        if (!IsBase64Url(token.AsSpan(0, first)) || !IsBase64Url(token.AsSpan(first + 1, second - first - 1)) || !IsBase64Url(token.AsSpan(second + 1)))
        {
            return "The token is not in canonical base64url.";
        }

        return Members(token.AsSpan(0, first), header: true) ?? Members(token.AsSpan(first + 1, second - first - 1), header: false);
    }

    private static bool IsBase64Url(ReadOnlySpan<char> part)
    {
        foreach (var c in part)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static string? Members(ReadOnlySpan<char> encoded, bool header)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(encoded.Length));
        try
        {
            if (!Base64Url.TryDecodeFromChars(encoded, buffer, out var length))
            {
                return "The token is not in canonical base64url.";
            }

            var reader = new Utf8JsonReader(buffer.AsSpan(0, length));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "The token is not a well-formed JWT.";
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!names.Add(name))
                {
                    return $"The token repeats the member '{name}'.";
                }

                reader.Read();
                if (header && name == "crit")
                {
                    return "The token requires extensions ('crit') the gateway does not support.";
                }

                if (header && name == "cty" && reader.TokenType == JsonTokenType.String && string.Equals(reader.GetString(), "JWT", StringComparison.OrdinalIgnoreCase))
                {
                    return "Nested tokens are not accepted.";
                }

                if (!header && name is "exp" or "nbf" or "iat" && reader.TokenType != JsonTokenType.Number)
                {
                    return $"The token's '{name}' is not a number.";
                }

                reader.Skip();
            }

            return null;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return "The token is not a well-formed JWT.";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
