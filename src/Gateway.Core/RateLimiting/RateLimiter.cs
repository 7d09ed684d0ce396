using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.Redis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.RateLimiting;

/// <summary>What all the limits of a request decided together: the most restrictive one answers.</summary>
internal readonly record struct RateLimitOutcome(bool Allowed, bool Unavailable, long Limit, long Remaining, TimeSpan Reset, CompiledLimit? Refusing)
{
    public static readonly RateLimitOutcome None = new(true, false, 0, 0, TimeSpan.Zero, null);

    public bool HasHeaders => Limit > 0;
}

/// <summary>
/// Applies a route's limits (global ones first) for one config snapshot: in memory, or in Redis when configured.
/// While Redis is unreachable, <c>failure_mode: open</c> falls back to the in-memory limiter and <c>closed</c>
/// answers 503; every Redis call is bounded by <c>redis.timeout_ms</c> (50 ms by default), and each change
/// between reachable and unreachable is logged once and counted.
/// </summary>
internal sealed partial class RateLimiter : IAsyncDisposable
{
    public const int DefaultRedisTimeoutMs = 50;

    private readonly LocalRateLimitStore _local;
    private readonly RedisRateLimitStore? _redis;
    private readonly bool _failOpen;
    private readonly ILogger? _logger;
    private readonly Lock _transitionGate = new();
    private readonly TimeProvider _time;
    private int _redisDown;
    private long _lastAttempt;

    public RateLimiter(RateLimitingConfig? config, TimeProvider time, ILogger? logger)
    {
        _logger = logger;
        _time = time;
        _failOpen = config?.FailureMode != "closed";
        _local = new LocalRateLimitStore(Parse(config?.LocalAlgorithm ?? "token_bucket"), config?.MaxKeys ?? 100_000, time);
        if (config?.Redis is { } redis)
        {
            var connection = new RedisConnection(redis.Url, TimeSpan.FromMilliseconds(redis.TimeoutMs ?? DefaultRedisTimeoutMs));
            _redis = new RedisRateLimitStore(connection, redis.Prefix ?? RedisRateLimitStore.DefaultPrefix, Parse(config.Algorithm));
        }
    }

    public bool UsesRedis => _redis is not null;

    public static LimitAlgorithm Parse(string name) => name switch
    {
        "fixed_window" => LimitAlgorithm.FixedWindow,
        "sliding_window" => LimitAlgorithm.SlidingWindow,
        _ => LimitAlgorithm.TokenBucket,
    };

    /// <summary>The client a limit counts for this request, or null when the limit does not apply (no identity).</summary>
    public static object? Partition(CompiledLimit limit, HttpContext context, GatewayRequestFeature feature) => limit.Dimension switch
    {
        LimitDimension.Ip => (object?)feature.ClientIp ?? "unknown",
        LimitDimension.User => feature.Identity?.Subject,
        LimitDimension.ApiKey => feature.Identity?.ApiKey?.Id,
        LimitDimension.Route => feature.Route!.Id,
        // All values joined, as the backend will read them: a second copy of the header cannot hide the first.
        _ => context.Request.Headers[limit.HeaderName!] is { Count: > 0 } values ? values.Count == 1 ? values[0] ?? "" : values.ToString() : "",
    };

    /// <summary>In-memory decision for every limit (no Redis): synchronous and allocation-free for known clients.</summary>
    public RateLimitOutcome EvaluateLocal(CompiledLimit[] limits, HttpContext context, GatewayRequestFeature feature)
    {
        var outcome = RateLimitOutcome.None;
        foreach (var limit in limits)
        {
            if (Partition(limit, context, feature) is { } partition)
            {
                outcome = Combine(outcome, limit, _local.Acquire(limit, partition));
            }
        }

        return outcome;
    }

    public async ValueTask<RateLimitOutcome> EvaluateAsync(CompiledLimit[] limits, HttpContext context, GatewayRequestFeature feature)
    {
        if (RecentlyDown())
        {
            // Redis failed a moment ago: do not spend every request's budget waiting on it again.
            return _failOpen ? EvaluateLocal(limits, context, feature) : Unavailable(limits);
        }

        var decisions = new Task<LimitDecision>[limits.Length];
        var partitions = new object?[limits.Length];
        for (var i = 0; i < limits.Length; i++)
        {
            partitions[i] = Partition(limits[i], context, feature);
            decisions[i] = partitions[i] is { } partition ? AcquireAsync(limits[i], partition) : Task.FromResult(new LimitDecision(true, 0, 0, TimeSpan.Zero));
        }

        var outcome = RateLimitOutcome.None;
        for (var i = 0; i < limits.Length; i++)
        {
            if (partitions[i] is null)
            {
                continue;
            }

            try
            {
                outcome = Combine(outcome, limits[i], await decisions[i].ConfigureAwait(false));
                MarkUp();
            }
            catch (Exception e) when (e is TimeoutException or StackExchange.Redis.RedisException or ObjectDisposedException
                or OperationCanceledException && !context.RequestAborted.IsCancellationRequested)
            {
                MarkDown(e);
                if (!_failOpen)
                {
                    return Unavailable(limits);
                }

                outcome = Combine(outcome, limits[i], _local.Acquire(limits[i], partitions[i]!));
            }
        }

        return outcome;
    }

    private static RateLimitOutcome Unavailable(CompiledLimit[] limits) => new(false, true, 0, 0, TimeSpan.FromSeconds(1), limits[0]);

    /// <summary>How long after a failure requests skip Redis before one of them tries it again.</summary>
    private static readonly TimeSpan RetryRedisAfter = TimeSpan.FromSeconds(1);

    private bool RecentlyDown()
    {
        if (Volatile.Read(ref _redisDown) == 0)
        {
            return false;
        }

        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastAttempt);
        if (_time.GetElapsedTime(last, now) < RetryRedisAfter)
        {
            return true;
        }

        // One request goes through to probe Redis; the others keep skipping it.
        return Interlocked.CompareExchange(ref _lastAttempt, now, last) != last;
    }

    private Task<LimitDecision> AcquireAsync(CompiledLimit limit, object partition) =>
        _redis!.AcquireAsync(limit, partition as string ?? partition.ToString() ?? "");

    /// <summary>A refusal wins (the longest wait among refusals); otherwise the limit with the fewest requests left.</summary>
    private static RateLimitOutcome Combine(RateLimitOutcome current, CompiledLimit limit, LimitDecision decision)
    {
        if (!decision.Allowed)
        {
            return current.Allowed || decision.Reset > current.Reset
                ? new RateLimitOutcome(false, false, decision.Limit, 0, decision.Reset, limit)
                : current;
        }

        if (!current.Allowed)
        {
            return current;
        }

        return !current.HasHeaders || decision.Remaining < current.Remaining
            ? new RateLimitOutcome(true, false, decision.Limit, decision.Remaining, decision.Reset, null)
            : current;
    }

    private void MarkDown(Exception error)
    {
        Interlocked.Exchange(ref _lastAttempt, _time.GetTimestamp());
        lock (_transitionGate)
        {
            if (_redisDown == 1)
            {
                return;
            }

            Volatile.Write(ref _redisDown, 1);
            RateLimitMetrics.Transition("down");
            if (_logger is not null)
            {
                Log.RedisDown(_logger, error.GetType().Name, _failOpen ? "falling back to in-memory limits (failure_mode: open)" : "answering 503 (failure_mode: closed)");
            }
        }
    }

    private void MarkUp()
    {
        if (Volatile.Read(ref _redisDown) == 0)
        {
            return;
        }

        // Transitions are decided and logged under one lock, so the log's last line is the current state.
        lock (_transitionGate)
        {
            if (_redisDown == 0)
            {
                return;
            }

            Volatile.Write(ref _redisDown, 0);
            RateLimitMetrics.Transition("up");
            if (_logger is not null)
            {
                Log.RedisUp(_logger);
            }
        }
    }

    /// <summary>Opens the Redis connection ahead of traffic, so first requests do not spend their budget connecting.</summary>
    public async Task WarmUpAsync()
    {
        if (_redis is not null)
        {
            try
            {
                await _redis.ConnectAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
            {
                MarkDown(e);
            }
        }
    }

    public ValueTask DisposeAsync() => _redis?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "rate limiting: Redis is unreachable ({Error}); {Action}")]
        public static partial void RedisDown(ILogger logger, string error, string action);

        [LoggerMessage(2, LogLevel.Information, "rate limiting: Redis is reachable again; limits are shared across replicas")]
        public static partial void RedisUp(ILogger logger);
    }
}
