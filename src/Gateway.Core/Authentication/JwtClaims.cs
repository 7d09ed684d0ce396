using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Gateway.Authentication;

/// <summary>Reads claims of a validated token as strings, whether they are strings, arrays or numbers.</summary>
internal static class JwtClaims
{
    public static IReadOnlyList<string> Values(JsonWebToken token, string name)
    {
        if (!token.TryGetPayloadValue<JsonElement>(name, out var element))
        {
            if (token.TryGetPayloadValue<string>(name, out var text) && text is not null)
            {
                return [text];
            }

            return [];
        }

        return element.ValueKind switch
        {
            JsonValueKind.Array => [.. element.EnumerateArray().Select(Text).Where(v => v is not null).Select(v => v!)],
            JsonValueKind.Null or JsonValueKind.Undefined => [],
            _ => Text(element) is { } single ? [single] : [],
        };
    }

    /// <summary>OAuth scopes: <c>scope</c> (space-separated) and <c>scp</c> (array or space-separated).</summary>
    public static IReadOnlyList<string> Scopes(JsonWebToken token)
    {
        var scopes = new List<string>();
        foreach (var claim in new[] { "scope", "scp" })
        {
            foreach (var value in Values(token, claim))
            {
                scopes.AddRange(value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        return scopes;
    }

    private static string? Text(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => null,
    };
}
