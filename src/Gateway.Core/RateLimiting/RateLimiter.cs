using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.State;
using Microsoft.Extensions.Logging;

namespace Gateway.RateLimiting;

/// <summary>What all the limits of a request decided together: the most restrictive one answers.</summary>
internal readonly record struct RateLimitOutcome(bool Allowed, bool Unavailable, long Limit, long Remaining, TimeSpan Reset, CompiledLimit? Refusing)
{
    public static readonly RateLimitOutcome None = new(true, false, 0, 0, TimeSpan.Zero, null);

    public bool HasHeaders => Limit > 0;
}

/// <summary>What identifies a Redis limiter: the server, the key prefix, the algorithm and the call timeout.</summary>
internal readonly record struct RedisLimitKey(string Url, string Prefix, LimitAlgorithm Algorithm, int TimeoutMs);

/// <summary>
/// Applies a route's limits (global ones first) for one config snapshot: in memory, or in Redis when configured.
/// The counters themselves are live state (<see cref="RateLimitState"/>, <see cref="RedisRateLimitStore"/>) that
/// outlives the snapshot. While Redis is unreachable, <c>failure_mode: open</c> falls back to the in-memory limiter
/// and <c>closed</c> answers 503; every Redis call is bounded by <c>redis.timeout_ms</c> (200 ms by default), and each
/// change between reachable and unreachable is logged once and counted. What counts as unreachable, and start-up, are
/// <see cref="Redis.RedisHealth"/>'s rules; a call that failed is decided by the failure mode like the calls of an
/// outage, and never sent again (Redis may have counted it).
/// </summary>
internal sealed partial class RateLimiter
{
    public const int DefaultRedisTimeoutMs = 200;

    private readonly LocalRateLimitStore _local;
    private readonly RedisRateLimitStore? _redis;
    private readonly bool _failOpen;
    private readonly ILogger _logger;
    private readonly TimeSpan _startupWait;

    public RateLimiter(RateLimitingConfig? config, LiveState state)
    {
        _logger = state.Loggers.CreateLogger("Gateway.RateLimiting");
        Metrics = state.Metrics.RateLimits;
        _failOpen = config?.FailureMode != "closed";
        LocalAlgorithm = Parse(config?.LocalAlgorithm ?? "token_bucket");
        _local = state.RateLimits.Local(LocalAlgorithm, config?.MaxKeys ?? 100_000);
        if (config?.Redis is { } redis)
        {
            var key = new RedisLimitKey(redis.Url, redis.Prefix ?? RedisRateLimitStore.DefaultPrefix, Parse(config.Algorithm), redis.TimeoutMs ?? DefaultRedisTimeoutMs);
            var connection = state.Redis(key.Url, key.TimeoutMs);
            _redis = state.RedisRateLimits.GetOrAdd(key, k => new RedisRateLimitStore(connection, k.Prefix, k.Algorithm, state.Time));
            // Only the gateway's own start-up waits for Redis; a store that a reload brings connects in the background.
            _startupWait = state.StartedUp ? TimeSpan.Zero
                : redis.StartupWaitSecs is double wait ? TimeSpan.FromSeconds(wait) : Redis.RedisHealth.DefaultStartupWait;
        }
    }

    public bool UsesRedis => _redis is not null;

    /// <summary>Where refusals and Redis transitions are counted.</summary>
    public RateLimitMetrics Metrics { get; }

    /// <summary>The algorithm of the in-memory counters (and of the fallback while Redis is away).</summary>
    public LimitAlgorithm LocalAlgorithm { get; }

    public static LimitAlgorithm Parse(string name) => name switch
    {
        "fixed_window" => LimitAlgorithm.FixedWindow,
        "sliding_window" => LimitAlgorithm.SlidingWindow,
        _ => LimitAlgorithm.TokenBucket,
    };

    /// <summary>The client a limit counts for this request, or null when the limit does not apply (no identity).</summary>
    public static object? Partition(CompiledLimit limit, Exchange exchange) => limit.Dimension switch
    {
        LimitDimension.Ip => (object?)exchange.ClientIp ?? "unknown",
        LimitDimension.User => exchange.Identity?.Subject,
        LimitDimension.ApiKey => exchange.Identity?.ApiKey?.Id,
        LimitDimension.Route => exchange.Route!.Id,
        // All values joined, as the backend will read them: a second copy of the header cannot hide the first.
        _ => exchange.RequestHeaders[limit.HeaderName!] is { Count: > 0 } values ? values.Count == 1 ? values[0] ?? "" : values.ToString() : "",
    };

    /// <summary>In-memory decision for every limit (no Redis): synchronous and allocation-free for known clients.</summary>
    public RateLimitOutcome EvaluateLocal(CompiledLimit[] limits, Exchange exchange)
    {
        var outcome = RateLimitOutcome.None;
        foreach (var limit in limits)
        {
            if (Partition(limit, exchange) is { } partition)
            {
                outcome = Combine(outcome, limit, _local.Acquire(limit, partition));
            }
        }

        return outcome;
    }

    public async ValueTask<RateLimitOutcome> EvaluateAsync(CompiledLimit[] limits, Exchange exchange)
    {
        var redis = _redis!;
        if (!redis.Health.WhenStarted.IsCompleted)
        {
            // Start-up has not reached Redis yet: wait for it (bounded by the start-up wait), so that the first requests
            // are counted where later ones are.
            await WarmUpAsync().ConfigureAwait(false);
        }

        if (redis.Health.ShouldSkip())
        {
            // Redis is unreachable: do not spend every request's budget waiting on it again.
            return _failOpen ? EvaluateLocal(limits, exchange) : Unavailable(limits);
        }

        var decisions = new Task<LimitDecision>[limits.Length];
        var partitions = new object?[limits.Length];
        for (var i = 0; i < limits.Length; i++)
        {
            partitions[i] = Partition(limits[i], exchange);
            decisions[i] = partitions[i] is { } partition
                ? redis.AcquireAsync(limits[i], partition as string ?? partition.ToString() ?? "")
                : Task.FromResult(new LimitDecision(true, 0, 0, TimeSpan.Zero));
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
                redis.Health.Succeeded(this, static limiter =>
                {
                    limiter.Metrics.Transition("up");
                    Log.RedisUp(limiter._logger);
                });
            }
            catch (Exception e) when (e is not OperationCanceledException || !exchange.Client.Aborted.IsCancellationRequested)
            {
                // Redis did not decide (it may still have counted the request: the call is never sent again). The
                // failure mode decides this limit, as while Redis is unreachable: never a request let through unlimited.
                redis.Health.Failed(e is OperationCanceledException ? Redis.RedisFailure.Slow : Redis.RedisHealth.Classify(e), (Limiter: this, Error: e), static state =>
                {
                    state.Limiter.Metrics.Transition("down");
                    Log.RedisDown(state.Limiter._logger, state.Error.GetType().Name, state.Limiter.FallbackAction);
                });
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

    private string FallbackAction => _failOpen ? "falling back to in-memory limits (failure_mode: open)" : "answering 503 (failure_mode: closed)";

    /// <summary>
    /// Reaches Redis ahead of traffic (the gateway reports ready once this is done); when it cannot within the start-up
    /// wait, the failure mode applies from then on, logged once.
    /// </summary>
    public Task WarmUpAsync() => _redis is null
        ? Task.CompletedTask
        : _redis.StartAsync(_startupWait, reached =>
        {
            if (!reached)
            {
                Metrics.Transition("down");
                Log.RedisNotReached(_logger, _startupWait.TotalSeconds, FallbackAction);
            }
        });

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "rate limiting: Redis is unreachable ({Error}); {Action}")]
        public static partial void RedisDown(ILogger logger, string error, string action);

        [LoggerMessage(2, LogLevel.Information, "rate limiting: Redis is reachable again; limits are shared across replicas")]
        public static partial void RedisUp(ILogger logger);

        [LoggerMessage(3, LogLevel.Warning, "rate limiting: Redis is unreachable (not reached within {Seconds} s of start-up); {Action}")]
        public static partial void RedisNotReached(ILogger logger, double seconds, string action);
    }
}
