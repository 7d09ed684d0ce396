using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Authentication;

/// <summary>
/// Signing keys from a JWKS document (or found through OIDC discovery), cached. An unknown <c>kid</c> triggers a
/// refresh at most once per 30 s; the keys are also refreshed every 10 minutes in the background. While the
/// identity provider is down the cached keys keep serving.
/// </summary>
internal sealed partial class JwksKeySource : IDisposable
{
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(10);
    private const int MaxDocumentBytes = 1024 * 1024;

    private readonly Uri? _jwksUrl;
    private readonly Uri? _oidcIssuer;
    private readonly string _keyType;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;
    private readonly Lock _refreshLock = new();
    private Task? _refresh;
    private volatile SecurityKey[] _keys = [];
    private long _lastAttempt;
    private long _lastSuccess;
    private long _lastOnDemand;
    private int _onDemandUsed;

    public JwksKeySource(string? jwksUrl, string? oidcIssuer, string algorithm, TimeProvider time, ILogger? logger)
    {
        _jwksUrl = jwksUrl is null ? null : new Uri(jwksUrl);
        _oidcIssuer = oidcIssuer is null ? null : new Uri(oidcIssuer.TrimEnd('/') + "/");
        _keyType = algorithm.StartsWith("ES", StringComparison.Ordinal) ? "EC" : "RSA";
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            Timeout = TimeSpan.FromSeconds(5),
            MaxResponseContentBufferSize = MaxDocumentBytes,
        };
    }

    public bool HasKeys => _keys.Length > 0;

    /// <summary>The keys for a <c>kid</c> (all keys when the token names none).</summary>
    public IEnumerable<SecurityKey> KeysFor(string? kid)
    {
        var keys = _keys;
        if (string.IsNullOrEmpty(kid))
        {
            return keys;
        }

        foreach (var key in keys)
        {
            if (string.Equals(key.KeyId, kid, StringComparison.Ordinal))
            {
                return [key];
            }
        }

        return [];
    }

    public bool Knows(string? kid) => KeysFor(kid).Any();

    /// <summary>The fetch last started (finished or not), so that a caller can wait for a background refresh.</summary>
    internal Task LastRefresh => Volatile.Read(ref _refresh) ?? Task.CompletedTask;

    /// <summary>Makes sure keys are loaded, and refreshes when a token names a key we do not have (rate limited).</summary>
    public async ValueTask PrepareAsync(string? kid)
    {
        if (!HasKeys || (!string.IsNullOrEmpty(kid) && !Knows(kid)))
        {
            // A fetch already under way (the start-up one, or another request's) is waited for, not repeated.
            if (Volatile.Read(ref _refresh) is { IsCompleted: false } running)
            {
                await running.ConfigureAwait(false);
            }

            if ((!HasKeys || (!string.IsNullOrEmpty(kid) && !Knows(kid))) && OnDemandAllowed())
            {
                Interlocked.Exchange(ref _lastOnDemand, _time.GetTimestamp());
                Volatile.Write(ref _onDemandUsed, 1);
                await RefreshAsync().ConfigureAwait(false);
            }

            return;
        }

        if (_time.GetElapsedTime(Interlocked.Read(ref _lastSuccess)) >= RefreshInterval
            && _time.GetElapsedTime(Interlocked.Read(ref _lastAttempt)) >= MinRefreshInterval)
        {
            _ = RefreshAsync();
        }
    }

    /// <summary>Fetches caused by requests (unknown kid, no keys yet) happen at most once per 30 s.</summary>
    private bool OnDemandAllowed() =>
        Volatile.Read(ref _onDemandUsed) == 0 || _time.GetElapsedTime(Interlocked.Read(ref _lastOnDemand)) >= MinRefreshInterval;

    /// <summary>Fetches the keys now; concurrent callers share one fetch. Keeps the old keys when it fails.</summary>
    public Task RefreshAsync()
    {
        lock (_refreshLock)
        {
            if (_refresh is { IsCompleted: false } running)
            {
                return running;
            }

            Interlocked.Exchange(ref _lastAttempt, _time.GetTimestamp());
            _refresh = FetchAsync();
            return _refresh;
        }
    }

    private async Task FetchAsync()
    {
        try
        {
            var jwksUrl = _jwksUrl ?? await DiscoverAsync().ConfigureAwait(false);
            var json = await _http.GetStringAsync(jwksUrl).ConfigureAwait(false);
            var set = new JsonWebKeySet(json);
            var keys = set.Keys
                .Where(k => k.Kty == _keyType && (string.IsNullOrEmpty(k.Use) || k.Use == "sig"))
                .Cast<SecurityKey>()
                .ToArray();
            if (keys.Length == 0)
            {
                throw new InvalidOperationException($"the JWKS document has no {_keyType} signing keys");
            }

            _keys = keys;
            Interlocked.Exchange(ref _lastSuccess, _time.GetTimestamp());
            if (_logger is not null)
            {
                Log.Loaded(_logger, keys.Length, jwksUrl.GetLeftPart(UriPartial.Path));
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or ArgumentException or InvalidOperationException)
        {
            if (_logger is not null)
            {
                Log.Failed(_logger, e.Message, _keys.Length);
            }
        }
    }

    private async Task<Uri> DiscoverAsync()
    {
        var discovery = new Uri(_oidcIssuer!, ".well-known/openid-configuration");
        using var document = JsonDocument.Parse(await _http.GetStringAsync(discovery).ConfigureAwait(false));
        var root = document.RootElement;
        var issuer = root.TryGetProperty("issuer", out var i) ? i.GetString() : null;
        if (issuer is null || !string.Equals(issuer.TrimEnd('/'), _oidcIssuer!.ToString().TrimEnd('/'), StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the discovery document names issuer '{issuer}', not the configured one");
        }

        var jwks = root.TryGetProperty("jwks_uri", out var j) ? j.GetString() : null;
        return jwks is not null && Uri.TryCreate(jwks, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : throw new InvalidOperationException("the discovery document has no usable jwks_uri");
    }

    public void Dispose()
    {
        _http.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "loaded {Count} signing keys from {Url}")]
        public static partial void Loaded(ILogger logger, int count, string url);

        [LoggerMessage(2, LogLevel.Warning, "could not load signing keys ({Error}); still using {Count} cached keys")]
        public static partial void Failed(ILogger logger, string error, int count);
    }
}
