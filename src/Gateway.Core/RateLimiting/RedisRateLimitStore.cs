using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gateway.Redis;
using StackExchange.Redis;

namespace Gateway.RateLimiting;

/// <summary>
/// Rate-limit state shared by every replica, in Redis. Each decision is one Lua script, atomic on the server,
/// that reads the clock with Redis <c>TIME</c>, so replicas with skewed clocks agree. Keys:
/// <c>{prefix}{algorithm}:{scope}:{dimension}:{client}</c> (algorithm <c>sw</c>, <c>fw</c> or <c>tb</c>; long client values are hashed).
/// </summary>
internal sealed class RedisRateLimitStore(RedisConnection redis, string prefix, LimitAlgorithm algorithm, TimeProvider time)
{
    public const string DefaultPrefix = "gateway:ratelimit:";

    // Returns {allowed (1/0), remaining, microseconds until reset or retry}.
    private const string FixedWindowScript = """
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local index = math.floor(now / window)
        local key = KEYS[1] .. ':' .. index
        local count = redis.call('INCR', key)
        if count == 1 then redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000) end
        local reset = (index + 1) * window - now
        if count > limit then return {0, 0, reset} end
        return {1, limit - count, reset}
        """;

    private const string SlidingWindowScript = """
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local count = redis.call('ZCARD', KEYS[1])
        local allowed = 0
        if count < limit then
          redis.call('ZADD', KEYS[1], now, now .. ':' .. count)
          count = count + 1
          allowed = 1
        end
        redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        local reset = window
        if oldest[2] then reset = tonumber(oldest[2]) + window - now end
        return {allowed, limit - count, reset}
        """;

    private const string TokenBucketScript = """
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2]) / tonumber(ARGV[3])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens = tonumber(state[1])
        local ts = tonumber(state[2])
        if tokens == nil or ts == nil then
          tokens = capacity
          ts = now
        end
        tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
        local allowed = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
        redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate / 1000) + 1000)
        local reset
        if allowed == 1 then reset = (capacity - tokens) / rate else reset = (1 - tokens) / rate end
        return {allowed, math.floor(tokens), math.ceil(reset)}
        """;

    private readonly string _script = algorithm switch
    {
        LimitAlgorithm.FixedWindow => FixedWindowScript,
        LimitAlgorithm.TokenBucket => TokenBucketScript,
        _ => SlidingWindowScript,
    };

    public LimitAlgorithm Algorithm { get; } = algorithm;

    private readonly string _algorithmName = algorithm switch
    {
        LimitAlgorithm.FixedWindow => "fw",
        LimitAlgorithm.TokenBucket => "tb",
        _ => "sw",
    };

    /// <summary>One decision; throws when Redis does not answer within the connection's operation timeout.</summary>
    public async Task<LimitDecision> AcquireAsync(CompiledLimit limit, string partition)
    {
        var windowMicros = limit.Window.Ticks / 10;
        RedisValue[] arguments = Algorithm == LimitAlgorithm.TokenBucket
            ? [limit.Burst, limit.Requests, windowMicros]
            : [limit.Requests, windowMicros];
        var call = EvaluateAsync(Key(limit, partition), arguments);
        RedisResult answer;
        try
        {
            answer = await call.WaitAsync(redis.OperationTimeout, time).ConfigureAwait(false);
        }
        catch (TimeoutException) when (call.IsCompletedSuccessfully)
        {
            // The answer is here, only noticed after the deadline (a busy moment): Redis has decided, so that decision holds.
            answer = call.Result;
        }

        var result = (RedisResult[])answer!;
        var allowed = (long)result[0] == 1;
        var remaining = Math.Max(0, (long)result[1]);
        var reset = TimeSpan.FromTicks(Math.Max(0, (long)result[2]) * 10);
        return new LimitDecision(allowed, Algorithm == LimitAlgorithm.TokenBucket ? limit.Burst : limit.Requests, remaining, reset);
    }

    /// <summary>
    /// Reaches Redis ahead of traffic (see <see cref="RedisHealth"/>): connects, loads the script (<c>SCRIPT LOAD</c>; the
    /// client sends <c>EVALSHA</c> afterwards and the script again on <c>NOSCRIPT</c>) and makes decisions on a key of its
    /// own, so the first request's decision is one warm round trip.
    /// </summary>
    public Task StartAsync(TimeSpan wait, Action<bool> onDone) => Health.StartAsync(WarmUpAsync, wait, onDone);

    private static readonly CompiledLimit WarmUpLimit = new(-1, "warmup", new Configuration.RateLimitRule { Dimension = "route", Requests = 1_000_000, WindowSecs = 1 });

    private async Task WarmUpAsync()
    {
        var connection = await redis.GetAsync().ConfigureAwait(false);
        foreach (var endpoint in connection.GetEndPoints())
        {
            await connection.GetServer(endpoint).ScriptLoadAsync(_script).ConfigureAwait(false);
        }

        // Decisions on a key of its own, one after another and then side by side, so that the decision path is
        // compiled (and recompiled by the runtime's tiers) before requests need it within their budget.
        for (var i = 0; i < 40; i++)
        {
            await AcquireAsync(WarmUpLimit, "warmup").ConfigureAwait(false);
        }

        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => AcquireAsync(WarmUpLimit, "warmup"))).ConfigureAwait(false);
    }

    private async Task<RedisResult> EvaluateAsync(string key, RedisValue[] arguments)
    {
        var db = await redis.DatabaseAsync().ConfigureAwait(false);

        // The client sends the script once and EVALSHA afterwards.
        return await db.ScriptEvaluateAsync(_script, [key], arguments).ConfigureAwait(false);
    }

    internal string Key(CompiledLimit limit, string partition)
    {
        var value = partition.Length <= 128 && !partition.Contains(':', StringComparison.Ordinal) && !partition.Contains(' ', StringComparison.Ordinal)
            ? partition
            : "h-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(partition)))[..32];
        // The algorithm is part of the key: each keeps a different Redis type, so changing it never meets old state.
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}{_algorithmName}:{limit.Scope}:{limit.DimensionLabel}:{value}");
    }

    /// <summary>Whether Redis can be relied on: shared by every snapshot that uses this store, so a reload keeps it.</summary>
    public RedisHealth Health { get; } = new(time);
}
