using Gateway.Configuration;
using Microsoft.Extensions.Logging;

namespace Gateway.Authentication;

/// <summary>The authenticators of one config snapshot. Building them does no I/O; keys and Redis load on first use.</summary>
internal sealed class AuthServices : IAsyncDisposable
{
    public AuthServices(AuthConfig? config, TimeProvider time, ILoggerFactory? loggers)
    {
        IdentityHeaders = new IdentityHeaders(config?.IdentityHeaders);
        if (config?.Jwt is { } jwt)
        {
            Jwt = new JwtAuthenticator(jwt, time, loggers?.CreateLogger("Gateway.Authentication"));
        }

        if (config?.ApiKey is { } apiKey)
        {
            var store = apiKey.Redis is { } redis
                ? new RedisApiKeyStore(redis.Url, redis.Prefix, TimeSpan.FromSeconds(apiKey.CacheSecs), time, loggers?.CreateLogger("Gateway.Authentication"), redis.TimeoutMs)
                : null;
            ApiKey = new ApiKeyAuthenticator(apiKey, store);
        }
    }

    public JwtAuthenticator? Jwt { get; }

    public ApiKeyAuthenticator? ApiKey { get; }

    public IdentityHeaders IdentityHeaders { get; }

    /// <summary>Loads JWKS keys ahead of the first request (failures are logged and retried on demand).</summary>
    public Task WarmUpAsync() => Task.WhenAll(Jwt?.WarmUpAsync() ?? Task.CompletedTask, ApiKey?.Store?.WarmUpAsync() ?? Task.CompletedTask);

    public async ValueTask DisposeAsync()
    {
        Jwt?.Dispose();
        if (ApiKey is not null)
        {
            await ApiKey.DisposeAsync().ConfigureAwait(false);
        }
    }
}
