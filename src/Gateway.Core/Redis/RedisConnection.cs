using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// One lazily opened connection to a Redis server. It never blocks start-up, never fails for good
/// (<c>AbortOnConnectFail</c> off: the client keeps reconnecting by itself), and keeps its own timeouts short.
/// </summary>
internal sealed class RedisConnection(string url, TimeSpan operationTimeout) : IAsyncDisposable
{
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private ConnectionMultiplexer? _connection;

    public TimeSpan OperationTimeout { get; } = operationTimeout;

    public async ValueTask<ConnectionMultiplexer> GetAsync()
    {
        if (Volatile.Read(ref _connection) is { } existing)
        {
            return existing;
        }

        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_connection is null)
            {
                var options = RedisUrl.ToOptions(url);
                options.AbortOnConnectFail = false;
                options.ConnectTimeout = 2000;
                options.ConnectRetry = 1;
                options.SyncTimeout = (int)Math.Max(OperationTimeout.TotalMilliseconds, 100);
                options.AsyncTimeout = (int)Math.Max(OperationTimeout.TotalMilliseconds, 100);
                options.ReconnectRetryPolicy = new LinearRetry(500);

                // While disconnected, fail at once instead of queueing: callers have their own fallbacks.
                options.BacklogPolicy = BacklogPolicy.FailFast;
                Volatile.Write(ref _connection, await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false));
            }

            return _connection!;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    public async ValueTask<IDatabase> DatabaseAsync() => (await GetAsync().ConfigureAwait(false)).GetDatabase();

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.CloseAsync().ConfigureAwait(false);
            _connection.Dispose();
        }

        _connectLock.Dispose();
    }
}
