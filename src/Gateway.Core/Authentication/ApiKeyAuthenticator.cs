using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Gateway.Configuration;

namespace Gateway.Authentication;

/// <summary>
/// Checks API keys. Configured keys (which the config holds anyway) are found through the process's randomized string
/// hash and confirmed with a constant-time comparison, so a check costs no cryptographic hash and an attacker cannot
/// aim at a bucket; keys not found there are looked up in the Redis store (by SHA-256) when one is configured.
/// </summary>
internal sealed class ApiKeyAuthenticator
{
    public const string MethodName = "apikey";

    // The identity of a configured key is immutable, so it is built once: a successful check allocates nothing.
    private readonly Dictionary<string, Identity> _local = new(SecretKeyComparer.Instance);
    private readonly Dictionary<string, Identity>.AlternateLookup<ReadOnlySpan<char>> _localBySpan;

    public ApiKeyAuthenticator(ApiKeyConfig config, RedisApiKeyStore? store)
    {
        Header = config.Header;
        Store = store;
        foreach (var (key, entry) in config.Keys)
        {
            var hash = ApiKeyHash.Compute(key);
            _local[key] = ToIdentity(new ApiKeyIdentity(ApiKeyHash.Hex(hash)[..16], entry.Name, entry.Roles, entry.Tier));
        }

        _localBySpan = _local.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public string Header { get; }

    public RedisApiKeyStore? Store { get; }

    /// <summary>The in-memory check: no allocation, constant time in the key's content.</summary>
    public bool TryFindLocal(ReadOnlySpan<char> key, out Identity? identity)
    {
        identity = null;
        return key.Length is > 0 and <= ApiKeyHash.MaxKeyLength && _localBySpan.TryGetValue(key, out identity);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<AuthResult> AuthenticateAsync(string key, bool offline)
    {
        if (key.Length > ApiKeyHash.MaxKeyLength)
        {
            return AuthResult.Invalid("invalid_key", "The API key is not valid.");
        }

        if (TryFindLocal(key, out var identity))
        {
            return AuthResult.Success(identity!);
        }

        if (Store is null)
        {
            return AuthResult.Invalid("invalid_key", "The API key is not valid.");
        }

        if (offline)
        {
            return AuthResult.Unavailable("offline", "Keys held in Redis cannot be checked offline.");
        }

        var lookup = await Store.FindAsync(key).ConfigureAwait(false);
        return lookup.Outcome switch
        {
            StoreOutcome.Found => AuthResult.Success(ToIdentity(lookup.Identity!)),
            StoreOutcome.NotFound => AuthResult.Invalid("invalid_key", "The API key is not valid."),
            _ => AuthResult.Unavailable("store_unavailable", "The API key store is unreachable; try again shortly."),
        };
    }

    private static Identity ToIdentity(ApiKeyIdentity key) => new()
    {
        Method = MethodName,
        Subject = key.Name,
        Roles = key.Roles,
        ApiKey = key,
    };

    /// <summary>
    /// Secrets as dictionary keys: hashed with the per-process randomized string hash (the runtime's non-randomized
    /// shortcut is only taken for its own comparers, never for this one), compared in constant time.
    /// </summary>
    private sealed class SecretKeyComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
    {
        public static readonly SecretKeyComparer Instance = new();

        public bool Equals(string? x, string? y) => x is not null && y is not null && Equals(x.AsSpan(), y);

        public int GetHashCode(string obj) => string.GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<char> alternate, string other) =>
            CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(alternate), MemoryMarshal.AsBytes(other.AsSpan()));

        public int GetHashCode(ReadOnlySpan<char> alternate) => string.GetHashCode(alternate);

        public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();
    }
}
