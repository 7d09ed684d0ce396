using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Gateway.Redis;
using StackExchange.Redis;

namespace Gateway.Authentication;

internal enum StoreOutcome
{
    Found,
    NotFound,
    Unavailable,
}

internal readonly record struct StoreLookup(StoreOutcome Outcome, ApiKeyIdentity? Identity);

/// <summary>
/// API keys shared by every replica, in Redis. Layout: one hash per key at <c>{prefix}{sha256-hex of the key}</c>
/// with fields <c>name</c>, <c>roles</c> (comma-separated), <c>tier</c>, <c>created</c>. Keys written by the earlier
/// gateway (<c>{prefix}{key}</c> holding the key's description) are still accepted. Look-ups go through a local
/// cache (positive and negative, <c>cache_secs</c>), so a key added or revoked in Redis takes effect within that
/// time; while Redis is unreachable (by <see cref="RedisHealth"/>'s rules, as for the rate limiter) a key seen
/// recently keeps working and an unknown one gets 503, without waiting on Redis.
/// </summary>
internal sealed partial class RedisApiKeyStore : IAsyncDisposable
{
    public const string DefaultPrefix = "gateway:apikey:";

    public const int DefaultTimeoutMs = 500;
    private const int MaxCachedKeys = 100_000;
    private static readonly TimeSpan StaleLimit = TimeSpan.FromMinutes(5);
    private readonly TimeSpan _commandTimeout;

    private readonly TimeSpan _cacheTime;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;
    private readonly ConcurrentDictionary<string, (ApiKeyIdentity? Identity, long Stored)> _cache = new(StringComparer.Ordinal);
    private readonly RedisConnection _redis;

    private readonly bool _ownsConnection;

    /// <summary>A store with a connection of its own (the key-management verbs).</summary>
    public RedisApiKeyStore(string url, string? prefix, TimeSpan cacheTime, TimeProvider time, ILogger? logger, int? timeoutMs = null)
        : this(new RedisConnection(url, TimeSpan.FromMilliseconds(timeoutMs ?? DefaultTimeoutMs)), prefix, cacheTime, time, logger)
    {
        _ownsConnection = true;
    }

    /// <summary>A store on a shared connection (the gateway's: its registry owns the connection).</summary>
    public RedisApiKeyStore(RedisConnection redis, string? prefix, TimeSpan cacheTime, TimeProvider time, ILogger? logger)
    {
        _commandTimeout = redis.OperationTimeout;
        _redis = redis;
        Prefix = prefix ?? DefaultPrefix;
        _cacheTime = cacheTime;
        _time = time;
        _logger = logger;
        Health = new RedisHealth(time);
    }

    public string Prefix { get; }

    public async ValueTask<StoreLookup> FindAsync(string key)
    {
        var hex = ApiKeyHash.Hex(ApiKeyHash.Compute(key));
        var now = _time.GetTimestamp();
        var cached = _cache.TryGetValue(hex, out var entry);
        if (cached && _time.GetElapsedTime(entry.Stored, now) < _cacheTime)
        {
            return entry.Identity is null ? new StoreLookup(StoreOutcome.NotFound, null) : new StoreLookup(StoreOutcome.Found, entry.Identity);
        }

        if (!Health.WhenStarted.IsCompleted)
        {
            await StartAsync().ConfigureAwait(false);
        }

        if (Health.ShouldSkip())
        {
            return Stale(cached, entry, now);
        }

        try
        {
            // The deadline covers connecting too: a Redis that is down costs one timeout, not a connect attempt.
            var identity = await LoadAsync(hex, key).WaitAsync(_commandTimeout, _time).ConfigureAwait(false);
            Health.Succeeded(_logger, static logger =>
            {
                if (logger is not null)
                {
                    Log.Reachable(logger);
                }
            });
            if (_cache.Count >= MaxCachedKeys)
            {
                _cache.Clear();
            }

            _cache[hex] = (identity, now);
            return identity is null ? new StoreLookup(StoreOutcome.NotFound, null) : new StoreLookup(StoreOutcome.Found, identity);
        }
        catch (Exception e)
        {
            // Whatever the client threw (a timeout, an error answer, a connection torn down under a read), Redis did not answer.
            Health.Failed(RedisHealth.Classify(e), (Logger: _logger, Error: e), static state =>
            {
                if (state.Logger is not null)
                {
                    Log.Unreachable(state.Logger, state.Error.GetType().Name);
                }
            });
            return Stale(cached, entry, now);
        }
    }

    /// <summary>Without an answer from Redis: a key seen recently keeps working; an unknown one cannot be decided.</summary>
    private StoreLookup Stale(bool cached, (ApiKeyIdentity? Identity, long Stored) entry, long now) =>
        cached && entry.Identity is not null && _time.GetElapsedTime(entry.Stored, now) < StaleLimit
            ? new StoreLookup(StoreOutcome.Found, entry.Identity)
            : new StoreLookup(StoreOutcome.Unavailable, null);

    /// <summary>How long start-up waits to reach Redis before the gateway reports ready anyway.</summary>
    public TimeSpan StartupWait { get; init; } = RedisHealth.DefaultStartupWait;

    /// <summary>Whether Redis can be relied on (kept across reloads with the store).</summary>
    public RedisHealth Health { get; }

    private async Task<ApiKeyIdentity?> LoadAsync(string hex, string key)
    {
        var db = (await ConnectAsync().ConfigureAwait(false)).GetDatabase();
        var fields = await db.HashGetAllAsync(Prefix + hex).ConfigureAwait(false);
        if (fields.Length > 0)
        {
            return FromFields(hex[..16], fields);
        }

        // The earlier gateway's layout names the key itself; a value shaped like one of our hashes never is one.
        if (key.Length == 64 && key.All(char.IsAsciiHexDigitLower))
        {
            return null;
        }

        try
        {
            var legacy = await db.StringGetAsync(Prefix + key).ConfigureAwait(false);
            return legacy.HasValue ? new ApiKeyIdentity(hex[..16], legacy.ToString(), [], null) : null;
        }
        catch (RedisServerException e) when (e.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
        {
            return null;
        }
    }

    private static ApiKeyIdentity FromFields(string id, HashEntry[] fields)
    {
        string name = "", roles = "";
        string? tier = null;
        foreach (var field in fields)
        {
            switch (field.Name.ToString())
            {
                case "name":
                    name = field.Value.ToString();
                    break;
                case "roles":
                    roles = field.Value.ToString();
                    break;
                case "tier":
                    tier = field.Value.IsNullOrEmpty ? null : field.Value.ToString();
                    break;
            }
        }

        return new ApiKeyIdentity(id, name, roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), tier);
    }

    /// <summary>Stores a new key (hashed) and returns its id (the first 12 hex digits of the hash).</summary>
    public async Task<string> AddAsync(string key, string name, IReadOnlyList<string> roles, string? tier)
    {
        var hex = ApiKeyHash.Hex(ApiKeyHash.Compute(key));
        var db = (await ConnectAsync().ConfigureAwait(false)).GetDatabase();
        await db.HashSetAsync(Prefix + hex,
        [
            new HashEntry("name", name),
            new HashEntry("roles", string.Join(',', roles)),
            new HashEntry("tier", tier ?? ""),
            new HashEntry("created", _time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
        ]).ConfigureAwait(false);
        return hex[..12];
    }

    /// <summary>Shortest id prefix <c>revoke --id</c> accepts, so a mistyped or empty id never matches many keys.</summary>
    public const int MinIdLength = 8;

    /// <summary>Removes keys by the key itself, by id (a prefix of at least 8 hex digits) or by name; returns how many.</summary>
    public async Task<int> RevokeAsync(string? key, string? id, string? name)
    {
        if (id is not null && id.Length < MinIdLength)
        {
            throw new ArgumentException($"an id needs at least {MinIdLength} characters", nameof(id));
        }

        var db = (await ConnectAsync().ConfigureAwait(false)).GetDatabase();
        if (key is not null)
        {
            var removed = await db.KeyDeleteAsync(Prefix + ApiKeyHash.Hex(ApiKeyHash.Compute(key))).ConfigureAwait(false);
            var legacy = await db.KeyDeleteAsync(Prefix + key).ConfigureAwait(false);
            return (removed ? 1 : 0) + (legacy ? 1 : 0);
        }

        var count = 0;
        foreach (var entry in await ListAsync().ConfigureAwait(false))
        {
            if ((id is not null && entry.Id.StartsWith(id, StringComparison.Ordinal)) || (name is not null && entry.Name == name))
            {
                count += await db.KeyDeleteAsync(entry.RedisKey).ConfigureAwait(false) ? 1 : 0;
            }
        }

        return count;
    }

    public async Task<List<(string Id, string Name, string Roles, string Tier, string Created, string RedisKey)>> ListAsync()
    {
        var connection = await ConnectAsync().ConfigureAwait(false);
        var db = connection.GetDatabase();
        var result = new List<(string, string, string, string, string, string)>();
        foreach (var endpoint in connection.GetEndPoints())
        {
            var server = connection.GetServer(endpoint);
            await foreach (var redisKey in server.KeysAsync(pattern: Prefix + "*").ConfigureAwait(false))
            {
                var text = redisKey.ToString();
                var suffix = text[Prefix.Length..];
                var type = await db.KeyTypeAsync(redisKey).ConfigureAwait(false);
                if (type == RedisType.Hash && suffix.Length == 64 && suffix.All(char.IsAsciiHexDigitLower))
                {
                    var fields = (await db.HashGetAllAsync(redisKey).ConfigureAwait(false)).ToDictionary(f => f.Name.ToString(), f => f.Value.ToString());
                    result.Add((suffix[..12], fields.GetValueOrDefault("name", ""), fields.GetValueOrDefault("roles", ""), fields.GetValueOrDefault("tier", ""),
                        fields.GetValueOrDefault("created", ""), text));
                }
                else if (type == RedisType.String)
                {
                    // A key of the earlier gateway: its Redis name contains the key itself, so only a fingerprint is shown.
                    var name = await db.StringGetAsync(redisKey).ConfigureAwait(false);
                    result.Add(("legacy:" + ApiKeyHash.Hex(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(suffix)))[..8], name.ToString(), "", "", "", text));
                }
            }
        }

        return result;
    }

    private ValueTask<ConnectionMultiplexer> ConnectAsync() => _redis.GetAsync();

    /// <summary>Reaches Redis ahead of the first look-up (see <see cref="RedisHealth"/>); a start-up that gives up is logged once.</summary>
    public Task StartAsync() => Health.StartAsync(async () => await (await ConnectAsync().ConfigureAwait(false)).GetDatabase().PingAsync().ConfigureAwait(false),
        StartupWait, reached =>
        {
            if (!reached && _logger is not null)
            {
                Log.NotReached(_logger, StartupWait.TotalSeconds);
            }
        });

    public ValueTask DisposeAsync() => _ownsConnection ? _redis.DisposeAsync() : ValueTask.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "API key store: Redis is unreachable ({Error}); keys seen in the last 5 minutes keep working, others get 503")]
        public static partial void Unreachable(ILogger logger, string error);

        [LoggerMessage(2, LogLevel.Information, "API key store: Redis is reachable again")]
        public static partial void Reachable(ILogger logger);

        [LoggerMessage(3, LogLevel.Warning, "API key store: Redis is unreachable (not reached within {Seconds} s of start-up); unknown keys get 503 until it is")]
        public static partial void NotReached(ILogger logger, double seconds);
    }
}
