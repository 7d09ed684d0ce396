using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Gateway.Configuration;

namespace Gateway.Authentication;

/// <summary>
/// Checks API keys. Configured keys live in memory only as SHA-256 hashes, found by the hash's first 16 bytes
/// and confirmed with a constant-time comparison of the whole hash; keys not found there are looked up in the
/// Redis store when one is configured.
/// </summary>
internal sealed class ApiKeyAuthenticator
{
    public const string MethodName = "apikey";

    // The identity of a configured key is immutable, so it is built once: a successful check allocates nothing.
    private readonly Dictionary<UInt128, (byte[] Hash, Identity Identity)> _local = [];

    public ApiKeyAuthenticator(ApiKeyConfig config, RedisApiKeyStore? store)
    {
        Header = config.Header;
        Store = store;
        foreach (var (key, entry) in config.Keys)
        {
            var hash = ApiKeyHash.Compute(key);
            _local[Prefix(hash)] = (hash, ToIdentity(new ApiKeyIdentity(ApiKeyHash.Hex(hash)[..16], entry.Name, entry.Roles, entry.Tier)));
        }
    }

    public string Header { get; }

    public RedisApiKeyStore? Store { get; }

    /// <summary>The in-memory check: no allocation, constant time in the key's content.</summary>
    public bool TryFindLocal(ReadOnlySpan<char> key, out Identity? identity)
    {
        identity = null;
        Span<byte> hash = stackalloc byte[32];
        if (!ApiKeyHash.TryCompute(key, hash) || !_local.TryGetValue(Prefix(hash), out var entry))
        {
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
        {
            return false;
        }

        identity = entry.Identity;
        return true;
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

    private static UInt128 Prefix(ReadOnlySpan<byte> hash) =>
        new(BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]));
}
