using System.Security.Cryptography;
using System.Text;
using Gateway.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Gateway.Caching;

/// <summary>
/// Responses kept in Redis, shared by every replica with the same config. A key is the store's prefix and the SHA-256
/// of the cache key (never a path, header value or credential in clear); a value expires in Redis when the response
/// goes stale. Redis being slow or away makes every lookup a miss and every store a no-op, never an error: the cache
/// only ever saves backend calls. Bounded by the server's own memory policy, not by <c>max_capacity</c>.
/// </summary>
internal sealed partial class RedisCacheStore(RedisConnection connection, string prefix, long maxBody, long inFlightBudget, TimeProvider time, ILogger logger) : ResponseCacheStore(inFlightBudget)
{
    private readonly RedisHealth _health = new(time);

    public override int Count => -1;

    public override async ValueTask<CachedResponse?> GetAsync(string key, long now, CancellationToken cancel)
    {
        if (_health.ShouldSkip())
        {
            return null;
        }

        try
        {
            var database = await connection.DatabaseAsync().ConfigureAwait(false);
            var value = await database.StringGetAsync(RedisKey(key)).WaitAsync(connection.OperationTimeout, time, cancel).ConfigureAwait(false);
            Succeeded();
            if (value.IsNullOrEmpty || CachedResponse.Deserialize((byte[])value!, maxBody) is not { } response || !response.IsFresh(now))
            {
                return null;
            }

            return response;
        }
        catch (Exception e) when (!cancel.IsCancellationRequested)
        {
            Failed(e);
            return null;
        }
    }

    public override async ValueTask SetAsync(string key, CachedResponse response, long now)
    {
        var ttl = TimeSpan.FromMilliseconds(response.ExpiresAt - now);
        if (ttl <= TimeSpan.Zero || _health.ShouldSkip())
        {
            return;
        }

        try
        {
            var database = await connection.DatabaseAsync().ConfigureAwait(false);
            await database.StringSetAsync(RedisKey(key), response.Serialize(), ttl).WaitAsync(connection.OperationTimeout, time).ConfigureAwait(false);
            Succeeded();
        }
        catch (Exception e)
        {
            Failed(e);
        }
    }

    private RedisKey RedisKey(string key) => prefix + "cache:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private void Succeeded() => _health.Succeeded(logger, static logger => Log.Up(logger));

    private void Failed(Exception e) =>
        _health.Failed(e is TimeoutException ? RedisFailure.Slow : RedisHealth.Classify(e), (logger, e), static state => Log.Down(state.logger, state.e.GetType().Name));

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "response cache: Redis is unreachable ({Error}); lookups are misses and nothing is stored until it answers again")]
        public static partial void Down(ILogger logger, string error);

        [LoggerMessage(2, LogLevel.Information, "response cache: Redis answers again")]
        public static partial void Up(ILogger logger);
    }
}
