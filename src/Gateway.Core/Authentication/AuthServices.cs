using Gateway.Configuration;
using Gateway.State;

namespace Gateway.Authentication;

/// <summary>What identifies a JWKS key cache: where the keys come from and which key type is wanted.</summary>
internal readonly record struct JwksKey(string? JwksUrl, string? OidcIssuer, string Algorithm);

/// <summary>What identifies a Redis API-key store and its cache.</summary>
internal readonly record struct ApiKeyStoreKey(string Url, string Prefix, double CacheSecs, int TimeoutMs);

/// <summary>
/// The authenticators of one config snapshot. Building them does no I/O; the key caches they use (JWKS, Redis API
/// keys) are live state shared across snapshots, so a reload keeps them warm.
/// </summary>
internal sealed class AuthServices
{
    public AuthServices(AuthConfig? config, LiveState state)
    {
        var logger = state.Loggers.CreateLogger("Gateway.Authentication");
        Metrics = state.Metrics.Auth;
        IdentityHeaders = new IdentityHeaders(config?.IdentityHeaders);
        if (config?.Jwt is { } jwt)
        {
            var jwks = jwt.JwksUrl is not null || jwt.OidcIssuer is not null
                ? state.JwksSources.GetOrAdd(new JwksKey(jwt.JwksUrl, jwt.OidcIssuer, jwt.Algorithm),
                    key => new JwksKeySource(key.JwksUrl, key.OidcIssuer, key.Algorithm, state.Time, logger))
                : null;
            Jwt = new JwtAuthenticator(jwt, state.Time, jwks);
        }

        if (config?.ApiKey is { } apiKey)
        {
            RedisApiKeyStore? store = null;
            if (apiKey.Redis is { } redis)
            {
                var key = new ApiKeyStoreKey(redis.Url, redis.Prefix ?? RedisApiKeyStore.DefaultPrefix, apiKey.CacheSecs, redis.TimeoutMs ?? RedisApiKeyStore.DefaultTimeoutMs);
                // The connection is named by every snapshot that uses it, not only the one that made the store.
                var connection = state.Redis(key.Url, key.TimeoutMs);
                store = state.ApiKeyStores.GetOrAdd(key, k => new RedisApiKeyStore(connection, k.Prefix, TimeSpan.FromSeconds(k.CacheSecs), state.Time, logger)
                {
                    // Only the gateway's own start-up waits for Redis; a store that a reload brings connects in the background.
                    StartupWait = state.StartedUp ? TimeSpan.Zero
                        : redis.StartupWaitSecs is double wait ? TimeSpan.FromSeconds(wait) : Redis.RedisHealth.DefaultStartupWait,
                });
            }

            ApiKey = new ApiKeyAuthenticator(apiKey, store);
        }
    }

    /// <summary>Where attempts and failures are counted.</summary>
    public AuthMetrics Metrics { get; }

    public JwtAuthenticator? Jwt { get; }

    public ApiKeyAuthenticator? ApiKey { get; }

    public IdentityHeaders IdentityHeaders { get; }

    /// <summary>
    /// Loads JWKS keys (in the background: failures are logged and retried on demand) and starts the key store; the task
    /// is the key store's start-up, which the gateway's readiness waits for.
    /// </summary>
    public Task WarmUpAsync()
    {
        _ = Jwt?.WarmUpAsync();
        return ApiKey?.Store?.StartAsync() ?? Task.CompletedTask;
    }
}
