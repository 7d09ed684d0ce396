using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Pipeline;
using Gateway.State;
using Gateway.Transforms;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Caching;

/// <summary>A route's response cache, compiled once.</summary>
internal sealed class CachePolicy
{
    public required string RouteId { get; init; }

    /// <summary>
    /// The settings this route's responses were made under (the route, the cache's own settings, the listener's forwarding
    /// rules), hashed into every key: an edit starts the route's cache afresh, and gateways sharing a Redis store share
    /// entries only when they would have made the same responses.
    /// </summary>
    public required string Fingerprint { get; init; }

    public required CacheMetrics Metrics { get; init; }

    public required CacheConfig Config { get; init; }

    public required ResponseCacheStore Store { get; init; }

    public required FrozenSet<int> Statuses { get; init; }

    public required bool Get { get; init; }

    public required bool Head { get; init; }

    public required string[] KeyHeaders { get; init; }

    public bool Shared => Config.Shared;

    /// <summary>The gateway's authentication keeps the client's Authorization header (it never reaches the backend).</summary>
    public required bool AuthorizationKept { get; init; }

    /// <summary>Client headers that never reach the backend from an untrusted peer on this route (see <see cref="CacheStage.UnkeyedRequestHeaders"/>).</summary>
    public required FrozenSet<string> UntrustedDropped { get; init; }

    /// <summary>Response headers a response transform fills from the request (<c>{client_ip}</c>, a claim, ...): never stored, so never replayed to another caller.</summary>
    public required FrozenSet<string> PerRequestHeaders { get; init; }

    /// <summary>The response transform's edits behind <see cref="PerRequestHeaders"/>: made afresh on each hit.</summary>
    public required HeaderEdit[] PerRequestEdits { get; init; }

    /// <summary>What the route's request transform reads from each request and sends on: part of the key.</summary>
    public required TransformReads.RequestInputs TransformInputs { get; init; }

    /// <summary>How long a request waits for an identical miss under way before asking the backend itself.</summary>
    public required TimeSpan FillWait { get; init; }

    public required TimeSpan DefaultLifetime { get; init; }
}

/// <summary>What the cache decided for one request.</summary>
internal sealed class CacheLookup
{
    /// <summary><c>HIT</c>, <c>MISS</c> or <c>BYPASS</c> (as <c>X-Cache-Status</c> says it).</summary>
    public string Result { get; set; } = "BYPASS";

    public string? Key { get; set; }

    /// <summary>This request fills its key for the requests waiting on it.</summary>
    public bool Fills { get; set; }

    /// <summary>The stored response served (hits).</summary>
    public CachedResponse? Hit { get; set; }

    /// <summary>The response being kept: its head as stored, and the copy of its body.</summary>
    public CachedResponse? Pending { get; set; }

    public CacheCopyFilter? Copy { get; set; }

    public long? DeclaredLength { get; set; }
}

/// <summary>
/// Response cache (after the rate limit, before request transforms): a fresh stored response answers the request (as
/// it was stored: the backend's head after response transforms, with <c>Age</c>), concurrent identical misses make one
/// backend call, and a backend response that may be kept is copied as it streams by and stored once it has ended
/// whole. <c>X-Cache-Status</c> says <c>HIT</c>, <c>MISS</c> or <c>BYPASS</c>. What is never kept: responses to
/// anything but GET (HEAD reads GET's entries), range and body-carrying requests and upgrades; statuses not listed,
/// 206 and 304; <c>no-store</c>, <c>private</c>, <c>no-cache</c>, <c>Vary: *</c>; <c>Set-Cookie</c> unless
/// <c>cache_with_cookies</c>; <c>text/event-stream</c>; bodies past <c>max_entry_bytes</c>; the gateway's own answers.
/// </summary>
internal sealed partial class CacheStage : Stage<CachePolicy>
{
    public const string StatusHeader = "X-Cache-Status";

    /// <summary>
    /// Request headers that could change a cached response without being part of its key: forwarding headers (a
    /// backend that builds links from them could be made to poison the cache) pass only from a trusted proxy, and
    /// method overrides never pass (a GET must not become a DELETE that gets cached).
    /// </summary>
    public static readonly string[] UnkeyedRequestHeaders =
    [
        "X-Host", "X-Forwarded-Server", "X-Forwarded-Scheme", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Ssl",
        "X-Original-URL", "X-Rewrite-URL", "X-Original-Host", "Forwarded", "X-Scheme", "X-Url-Scheme", "Front-End-Https", "X-HTTP-Host-Override",
        "X-Original-URI", "X-Envoy-Original-Path", "X-Proxy-URL", "Base-Url", "X-HTTP-DestinationURL", "X-ARR-SSL", "X-ARR-Log-ID", "Client-IP",
    ];

    private static readonly string[] MethodOverrides = ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"];

    /// <summary>Response headers that belong to one response, never to a stored one.</summary>
    private static readonly FrozenSet<string> NotStored = new[]
    {
        HeaderNames.ContentLength, HeaderNames.TransferEncoding, HeaderNames.Connection, HeaderNames.KeepAlive, HeaderNames.Age,
        HeaderNames.Trailer, HeaderNames.Upgrade, "Proxy-Connection", StatusHeader,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The headers a 304 from the cache carries (RFC 9110 15.4.5).</summary>
    private static readonly FrozenSet<string> NotModifiedHeaders = new[]
    {
        HeaderNames.CacheControl, HeaderNames.ContentLocation, HeaderNames.Date, HeaderNames.ETag, HeaderNames.Expires, HeaderNames.Vary, HeaderNames.LastModified,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public override void Validate(GatewayConfig config, ConfigDiagnostics diagnostics, string baseDirectory) => CacheValidator.Validate(config, diagnostics);

    /// <summary>A header that belongs to one response (framing, Age, the cache's own status), never to a stored one.</summary>
    public static bool IsPerResponse(string name) => NotStored.Contains(name);

    protected override CachePolicy? CompilePolicy(StageCompilation compilation)
    {
        var route = compilation.RouteConfig!;
        var config = route.Cache ?? compilation.Config.Cache;
        if (config is not { Enabled: true } || route.Mock is not null)
        {
            return null;
        }

        var scope = route.Cache is null ? "global" : "route:" + compilation.Route!.Id;
        var state = compilation.State;
        var store = state.ResponseCaches.GetOrAdd(new CacheStoreKey(scope, config.MaxCapacity, config.MaxBytes, config.MaxEntryBytes, config.Redis?.Url, config.Redis?.Prefix,
            config.Redis?.TimeoutMs), key => CreateStore(key, state));
        var upstream = compilation.Upstream!;
        foreach (var header in UnkeyedRequestHeaders)
        {
            upstream.DropFromUntrusted(header);
        }

        upstream.ForwardingHeadersFromTrustedOnly = true;
        foreach (var header in MethodOverrides)
        {
            upstream.Drop(header);
        }

        var methods = config.CacheableMethods.Select(m => m.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
        var perRequest = TransformReads.PerRequestResponseEdits(route.Transform?.Response);
        return new CachePolicy
        {
            RouteId = compilation.Route!.Id,
            Fingerprint = FingerprintOf(route, config, compilation.Config.Server),
            Metrics = state.Metrics.Cache,
            Config = config,
            Store = store,
            Statuses = config.CacheableStatusCodes.Where(s => s is not (206 or 304)).ToFrozenSet(),
            Get = methods.Contains("GET"),
            Head = methods.Contains("HEAD"),
            KeyHeaders = [.. config.KeyHeaders.Distinct(StringComparer.OrdinalIgnoreCase)],
            TransformInputs = TransformReads.Request(route.Transform?.Request),
            AuthorizationKept = upstream.DropAuthorization,
            UntrustedDropped = UnkeyedRequestHeaders.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            PerRequestHeaders = perRequest.Select(e => e.Name).ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            PerRequestEdits = perRequest,
            FillWait = TimeSpan.FromSeconds(route.TimeoutSecs ?? compilation.Config.Server.TimeoutSecs),
            DefaultLifetime = TimeSpan.FromSeconds(config.TtlSecs),
        };
    }

    private static string FingerprintOf(RouteConfig route, CacheConfig cache, ServerConfig server)
    {
        var settings = JsonSerializer.Serialize(route) + "\n" + JsonSerializer.Serialize(cache) + "\n" + JsonSerializer.Serialize(server);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(settings)))[..16];
    }

    private static ResponseCacheStore CreateStore(CacheStoreKey key, LiveState state)
    {
        if (key.RedisUrl is not { } url)
        {
            return new MemoryCacheStore(key.MaxEntries, key.MaxBytes);
        }

        var connection = state.Redis(url, key.RedisTimeoutMs ?? 250);
        return new RedisCacheStore(connection, key.RedisPrefix ?? "gateway:", key.MaxEntryBytes, key.MaxBytes, state.Time, state.Loggers.CreateLogger("Gateway.Cache"));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected override async ValueTask<bool> Request(Exchange exchange, CachePolicy policy)
    {
        var lookup = new CacheLookup();
        exchange.Cache = lookup;
        if (exchange.Offline || !Eligible(exchange, policy))
        {
            return true;
        }

        var key = lookup.Key = CacheKeys.Build(exchange, policy);
        var store = policy.Store;
        var cancel = exchange.Client.Aborted;
        if (await FindAsync(exchange, store, key, cancel).ConfigureAwait(false) is { } hit)
        {
            return Serve(exchange, lookup, hit);
        }

        lookup.Result = "MISS";
        if (exchange.IsHead)
        {
            // A HEAD response has no body to keep; it reads GET's entries only.
            lookup.Key = null;
            return true;
        }

        if (store.TryStartFill(key, out var pending))
        {
            lookup.Fills = true;
            if (await FindAsync(exchange, store, key, cancel).ConfigureAwait(false) is { } stored)
            {
                // The identical request before this one stored its response and ended its fill between the first look
                // and this fill's start: serve what it stored rather than ask the backend again.
                lookup.Fills = false;
                store.EndFill(key);
                return Serve(exchange, lookup, stored);
            }

            return true;
        }

        try
        {
            await pending.WaitAsync(policy.FillWait, exchange.Time, cancel).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The identical request under way takes too long: this one asks the backend itself.
            return true;
        }

        if (await FindAsync(exchange, store, key, cancel).ConfigureAwait(false) is { } filled)
        {
            return Serve(exchange, lookup, filled);
        }

        // What the other request got could not be kept (private, too large, a failure): this one goes on its own.
        return true;
    }

    private static bool Eligible(Exchange exchange, CachePolicy policy)
    {
        if (exchange.IsHead ? !policy.Head : !(policy.Get && HttpMethods.IsGet(exchange.Method)))
        {
            return false;
        }

        var headers = exchange.RequestHeaders;
        return headers.Range.Count == 0
            && headers.Upgrade.Count == 0
            && exchange.RequestContentLength is null or 0
            && !exchange.RequestBodyUnframed;
    }

    private static async ValueTask<CachedResponse?> FindAsync(Exchange exchange, ResponseCacheStore store, string key, CancellationToken cancel)
    {
        var found = await store.GetAsync(key, exchange.Time.GetUtcNow().ToUnixTimeMilliseconds(), cancel).ConfigureAwait(false);
        return found is not null && CacheKeys.VaryMatches(exchange, found) ? found : null;
    }

    private static bool Serve(Exchange exchange, CacheLookup lookup, CachedResponse hit)
    {
        lookup.Result = "HIT";
        lookup.Hit = hit;
        var headers = exchange.RequestHeaders;
        var notModified = headers.IfNoneMatch.Count > 0
            ? CacheKeys.NoneMatch(headers.IfNoneMatch, hit.Header(HeaderNames.ETag))
            : headers.IfModifiedSince.Count > 0 && CacheKeys.NotModifiedSince(headers.IfModifiedSince, hit.Header(HeaderNames.LastModified));
        exchange.Respond(notModified && hit.Status == StatusCodes.Status200OK
            ? new Answer(StatusCodes.Status304NotModified, ReadOnlyMemory<byte>.Empty, null) { Reason = AnswerReasons.CacheHit, Detail = "not modified since the stored response" }
            : new Answer(hit.Status, hit.Body, null) { Reason = AnswerReasons.CacheHit, Detail = "served from the response cache" });
        return false;
    }

    protected override void Response(Exchange exchange, CachePolicy policy)
    {
        if (exchange.Cache is not { } lookup)
        {
            return;
        }

        var client = exchange.Client;
        var headers = client.ResponseHeaders;
        if (lookup.Hit is { } hit && exchange.Answer?.Reason == AnswerReasons.CacheHit)
        {
            var notModified = client.Status == StatusCodes.Status304NotModified;
            foreach (var (name, values) in hit.Headers)
            {
                if (!notModified || NotModifiedHeaders.Contains(name))
                {
                    headers[name] = values;
                }
            }

            if (!notModified && policy.PerRequestEdits.Length > 0)
            {
                TransformStage.Apply(exchange, policy.PerRequestEdits);
            }

            headers.Age = hit.AgeAt(exchange.Time.GetUtcNow().ToUnixTimeMilliseconds()).ToString(CultureInfo.InvariantCulture);
            headers[StatusHeader] = "HIT";
            return;
        }

        headers[StatusHeader] = lookup.Result;
        lookup.Pending = null;
        lookup.Copy = null;
        if (lookup.Key is null || exchange.Answer is not null || exchange.IsHead || exchange.Offline)
        {
            return;
        }

        var status = client.Status;
        var length = client.ResponseContentLength;
        if (!policy.Statuses.Contains(status)
            || (length is long declared && declared > policy.Config.MaxEntryBytes)
            || (headers.SetCookie.Count > 0 && !policy.Config.CacheWithCookies)
            || headers.ContentRange.Count > 0
            || IsEventStream(headers.ContentType)
            || CacheKeys.VaryNames(headers.Vary) is not { } vary)
        {
            EndFillEarly(lookup, policy);
            return;
        }

        var now = exchange.Time.GetUtcNow();
        var freshness = Freshness.Of(headers, policy.DefaultLifetime, now);
        if (!freshness.Storable)
        {
            EndFillEarly(lookup, policy);
            return;
        }

        var stored = new List<KeyValuePair<string, string[]>>(headers.Count);
        foreach (var (name, values) in headers)
        {
            if (!NotStored.Contains(name) && !policy.PerRequestHeaders.Contains(name) && values.Count > 0)
            {
                stored.Add(new(name, values.ToArray()!));
            }
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        lookup.Pending = new CachedResponse
        {
            Status = status,
            Headers = [.. stored],
            Body = [],
            StoredAt = nowMs,
            ExpiresAt = nowMs + (long)freshness.Lifetime.TotalMilliseconds,
            InitialAge = freshness.InitialAge,
            Vary = CacheKeys.VaryValues(exchange, vary),
        };
        lookup.DeclaredLength = length;
        lookup.Copy = new CacheCopyFilter(policy.Store, policy.Config.MaxEntryBytes, length);
        exchange.FilterResponseBody(lookup.Copy);
    }

    /// <summary>The response will not be kept: requests waiting on it go to the backend now, not once its body has streamed.</summary>
    private static void EndFillEarly(CacheLookup lookup, CachePolicy policy)
    {
        if (lookup.Fills && lookup.Key is { } key)
        {
            lookup.Fills = false;
            policy.Store.EndFill(key);
        }
    }

    private static bool IsEventStream(StringValues contentType) =>
        contentType.Count > 0 && (contentType[0] ?? "").AsSpan().TrimStart().StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);

    protected override void Completed(Exchange exchange, CachePolicy policy)
    {
        if (exchange.Cache is not { } lookup || exchange.Offline)
        {
            return;
        }

        policy.Metrics.Request(policy.RouteId, lookup.Result switch { "HIT" => "hit", "MISS" => "miss", _ => "bypass" });
        var key = lookup.Key;
        if (key is null)
        {
            return;
        }

        if (lookup.Pending is { } pending && lookup.Copy?.Body is { } body && !exchange.ResponseCut
            && (lookup.DeclaredLength is not long declared || declared == body.Length))
        {
            var response = new CachedResponse
            {
                Status = pending.Status,
                Headers = pending.Headers,
                Body = body,
                StoredAt = pending.StoredAt,
                ExpiresAt = pending.ExpiresAt,
                InitialAge = pending.InitialAge,
                Vary = pending.Vary,
            };
            var storing = policy.Store.SetAsync(key, response, exchange.Time.GetUtcNow().ToUnixTimeMilliseconds());
            lookup.Copy.Release();
            if (!storing.IsCompletedSuccessfully && lookup.Fills)
            {
                // The waiting requests look again once the entry is in the shared store.
                _ = EndFillAfterAsync(storing, policy.Store, key);
                return;
            }
        }

        lookup.Copy?.Release();
        if (lookup.Fills)
        {
            policy.Store.EndFill(key);
        }
    }

    private static async Task EndFillAfterAsync(ValueTask storing, ResponseCacheStore store, string key)
    {
        try
        {
            await storing.ConfigureAwait(false);
        }
        finally
        {
            store.EndFill(key);
        }
    }

    protected override string? Describe(CachePolicy policy)
    {
        var config = policy.Config;
        var where = config.Redis is null ? $"memory {config.MaxCapacity} entries" : "redis";
        return $"cache(ttl={config.TtlSecs:0.###}s, {where}{(config.Shared ? ", shared" : "")}{(policy.KeyHeaders.Length > 0 ? ", key+" + string.Join('+', policy.KeyHeaders) : "")})";
    }
}

/// <summary>What identifies a cache's store across reloads: its scope (global, or one route) and its bounds and place.</summary>
internal readonly record struct CacheStoreKey(string Scope, int MaxEntries, long MaxBytes, long MaxEntryBytes, string? RedisUrl, string? RedisPrefix, int? RedisTimeoutMs);
