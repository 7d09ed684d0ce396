using System.Security.Cryptography;
using System.Text;

namespace Gateway.Authentication;

/// <summary>API keys are held and stored only as SHA-256 hashes; this computes them without allocating.</summary>
internal static class ApiKeyHash
{
    /// <summary>Longest key accepted; longer values are refused without hashing.</summary>
    public const int MaxKeyLength = 512;

    public static bool TryCompute(ReadOnlySpan<char> key, Span<byte> hash)
    {
        if (key.Length is 0 or > MaxKeyLength)
        {
            return false;
        }

        Span<byte> utf8 = stackalloc byte[MaxKeyLength * 3];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        SHA256.HashData(utf8[..length], hash);
        return true;
    }

    public static byte[] Compute(string key)
    {
        var hash = new byte[32];
        if (!TryCompute(key, hash))
        {
            throw new ArgumentException($"an API key must be 1 to {MaxKeyLength} characters", nameof(key));
        }

        return hash;
    }

    public static string Hex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);
}
