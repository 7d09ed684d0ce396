using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Caching;
using Gateway.Configuration;
using static Gateway.Tests.Caching.CacheTests;

namespace Gateway.Tests.Caching;

/// <summary>The stores behind the cache (memory bounds, Redis shared by replicas, a tampered store), HTTP/2, and the config.</summary>
public sealed class CacheStoreTests
{
    private static CachedResponse Entry(int bodyBytes, long expiresAt = long.MaxValue) => new()
    {
        Status = 200,
        Headers = [new("Content-Type", ["text/plain"])],
        Body = new byte[bodyBytes],
        StoredAt = 0,
        ExpiresAt = expiresAt,
        Vary = [],
    };

    [Fact]
    public async Task The_memory_store_keeps_within_its_entry_and_byte_bounds_dropping_the_least_recently_used()
    {
        var store = new MemoryCacheStore(maxEntries: 3, maxBytes: 100_000);
        await store.SetAsync("a", Entry(10), 0);
        await store.SetAsync("b", Entry(10), 0);
        await store.SetAsync("c", Entry(10), 0);
        Assert.NotNull(await store.GetAsync("a", 0, default));
        await store.SetAsync("d", Entry(10), 0);
        Assert.Equal(3, store.Count);
        Assert.Null(await store.GetAsync("b", 0, default));
        Assert.NotNull(await store.GetAsync("a", 0, default));

        await store.SetAsync("big", Entry(60_000), 0);
        await store.SetAsync("bigger", Entry(60_000), 0);
        Assert.True(store.Bytes <= 100_000);
        Assert.Null(await store.GetAsync("big", 0, default));
        Assert.NotNull(await store.GetAsync("bigger", 0, default));

        await store.SetAsync("huge", Entry(200_000), 0);
        Assert.Null(await store.GetAsync("huge", 0, default));
    }

    [Fact]
    public async Task Bodies_being_copied_share_the_byte_bound_and_give_their_room_back()
    {
        var store = new MemoryCacheStore(maxEntries: 10, maxBytes: 10_000);
        async Task<CacheCopyFilter> CopyAsync(int bytes, long? declared, int chunk)
        {
            var filter = new CacheCopyFilter(store, maxBytes: 8_000, declared);
            var stream = filter.Wrap(Stream.Null);
            for (var i = 0; i < bytes; i += chunk)
            {
                await stream.WriteAsync(new byte[Math.Min(chunk, bytes - i)]);
            }

            return filter;
        }

        // A declared length takes its room at the first byte; a second copy that would pass the bound is let go.
        var sized = await CopyAsync(6_000, 6_000, 1_000);
        Assert.Equal(6_000, store.InFlightBytes);
        var crowded = await CopyAsync(6_000, null, 1_000);
        Assert.Equal(6_000, store.InFlightBytes);
        await crowded.CompleteAsync(default);
        Assert.Null(crowded.Body);

        // The first one ends whole; its room comes back once released (once, however often it is released).
        await sized.CompleteAsync(default);
        Assert.Equal(6_000, sized.Body!.Length);
        sized.Release();
        sized.Release();
        Assert.Equal(0, store.InFlightBytes);

        // A body past the entry bound is let go and holds nothing; a discarded copy gives its room back.
        var oversized = await CopyAsync(9_000, null, 1_000);
        Assert.Equal(0, store.InFlightBytes);
        await oversized.CompleteAsync(default);
        Assert.Null(oversized.Body);
        var dropped = await CopyAsync(3_000, null, 500);
        Assert.Equal(3_000, store.InFlightBytes);
        dropped.Discard();
        Assert.Equal(0, store.InFlightBytes);
        Assert.Null(dropped.Body);

        // An empty body is a whole (empty) body.
        var empty = await CopyAsync(0, 0, 1);
        await empty.CompleteAsync(default);
        Assert.Empty(empty.Body!);
    }

    [Fact]
    public async Task An_expired_entry_is_gone_when_it_is_looked_up()
    {
        var store = new MemoryCacheStore(10, 100_000);
        await store.SetAsync("a", Entry(10, expiresAt: 1000), 0);
        Assert.NotNull(await store.GetAsync("a", 999, default));
        Assert.Null(await store.GetAsync("a", 1000, default));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void A_stored_entry_reads_back_and_a_tampered_one_is_refused()
    {
        var entry = new CachedResponse
        {
            Status = 200,
            Headers = [new("Content-Type", ["text/plain"]), new("Link", ["</a>", "</b>"])],
            Body = Encoding.UTF8.GetBytes("hello"),
            StoredAt = 5,
            ExpiresAt = 10,
            InitialAge = 2,
            Vary = [new("accept-language", "en")],
        };
        var bytes = entry.Serialize();
        var back = CachedResponse.Deserialize(bytes, 1000)!;
        Assert.Equal("hello", Encoding.UTF8.GetString(back.Body));
        Assert.Equal(["</a>", "</b>"], back.Headers[1].Value);
        Assert.Equal("en", back.Vary[0].Value);

        Assert.Null(CachedResponse.Deserialize(bytes[..^1], 1000));
        Assert.Null(CachedResponse.Deserialize([.. bytes, 0], 1000));
        Assert.Null(CachedResponse.Deserialize(bytes, 4));
        Assert.Null(CachedResponse.Deserialize("not an entry"u8.ToArray(), 1000));

        var split = new CachedResponse
        {
            Status = 200,
            Headers = [new("X-Evil", ["a\r\nSet-Cookie: owned=1"])],
            Body = [],
            StoredAt = 0,
            ExpiresAt = 10,
            Vary = [],
        };
        Assert.Null(CachedResponse.Deserialize(split.Serialize(), 1000));
    }

    [SkippableFact]
    public async Task Replicas_sharing_a_redis_cache_serve_each_others_responses()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await StartBackendAsync();
        var config = $$$"""
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}", cache: {enabled: true, redis: {url: "{{{redis.Url}}}" } } }
            """;
        await using var one = await TestGateway.StartAsync(config);
        await using var two = await TestGateway.StartAsync(config);
        // Replicas behind one load balancer see the same Host.
        var first = await GetAsync(one, "/c/shared?x=1", ("Host", "api.example"));
        Assert.Equal("MISS", first.Cache);
        for (var i = 0; i < 50 && !(await RedisCommandAsync(redis.Port, "KEYS *")).Contains("gateway:cache:", StringComparison.Ordinal); i++)
        {
            // The store is written once the response has gone out.
            await Task.Delay(20);
        }

        var second = await GetAsync(two, "/c/shared?x=1", ("Host", "api.example"));
        Assert.Equal("HIT", second.Cache);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(1, backend.Requests);

        // The key in Redis is a hash: no path, header or credential in clear.
        var keys = await RedisCommandAsync(redis.Port, "KEYS *");
        Assert.Contains("gateway:cache:", keys, StringComparison.Ordinal);
        Assert.DoesNotContain("shared", keys, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Without_redis_every_lookup_is_a_miss_and_requests_are_still_served()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await StartBackendAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}", cache: {enabled: true, redis: {url: "{{{redis.Url}}}", timeout_ms: 200} } }
            """);
        await GetAsync(gateway, "/c/r");
        Assert.Equal("HIT", (await GetAsync(gateway, "/c/r")).Cache);
        await redis.StopAsync();
        for (var i = 0; i < 3; i++)
        {
            var down = await GetAsync(gateway, "/c/r");
            Assert.Equal(HttpStatusCode.OK, down.Status);
            Assert.Equal("MISS", down.Cache);
        }

        Assert.Equal(4, backend.Requests);
    }

    [SkippableFact]
    public async Task A_tampered_redis_entry_is_a_miss_never_a_split_response()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await StartBackendAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}", cache: {enabled: true, redis: {url: "{{{redis.Url}}}" } } }
            """);
        await GetAsync(gateway, "/c/t");
        List<string> keys = [];
        for (var i = 0; i < 50 && keys.Count == 0; i++)
        {
            // The store is written once the response has gone out.
            keys = [.. (await RedisCommandAsync(redis.Port, "KEYS gateway:cache:*")).Split("\r\n").Where(l => l.StartsWith("gateway:", StringComparison.Ordinal))];
        }

        var key = Assert.Single(keys);
        await RedisCommandAsync(redis.Port, $"SET {key} garbage");
        var after = await GetAsync(gateway, "/c/t");
        Assert.Equal("MISS", after.Cache);
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal(2, backend.Requests);
    }

    private static async Task<string> RedisCommandAsync(int port, string command)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
        await Task.Delay(200);
        var buffer = new byte[65536];
        var read = await socket.ReceiveAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    [Fact]
    public async Task Hits_are_served_over_http2_like_over_http1()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, http2: true}
            routes:
              - {path: /c/*rest, backend: "{{{backend.Url}}}", cache: {enabled: true}}
            """);
        using var client = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var url = $"http://127.0.0.1:{gateway.Port}";
        using var first = await client.GetAsync(url + "/c/two");
        Assert.Equal(HttpVersion.Version20, first.Version);
        Assert.Equal("MISS", Header(first, "X-Cache-Status"));
        using var second = await client.GetAsync(url + "/c/two");
        Assert.Equal("HIT", Header(second, "X-Cache-Status"));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());

        using var miss = await client.GetAsync(url + "/c/three?size=50000&chunked=1");
        Assert.Equal(50000, (await miss.Content.ReadAsByteArrayAsync()).Length);
        using var hit = await client.GetAsync(url + "/c/three?size=50000&chunked=1");
        Assert.Equal("HIT", Header(hit, "X-Cache-Status"));
        Assert.Equal(await miss.Content.ReadAsByteArrayAsync(), await hit.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, backend.Requests);
    }

    [Theory]
    [InlineData("cache: {enabled: true, cacheable_methods: [POST]}", "cache.cacheable_methods[0]", "only GET and HEAD")]
    [InlineData("cache: {enabled: true, max_entry_bytes: 2000000, max_bytes: 1000000}", "cache.max_entry_bytes", "larger than max_bytes")]
    [InlineData("cache: {enabled: true, ttl_secs: 0}", "cache.ttl_secs", "")]
    [InlineData("cache: {enabled: true, max_capacity: 0}", "cache.max_capacity", "")]
    [InlineData("cache: {enabled: true, key_headers: ['bad header']}", "cache.key_headers[0]", "")]
    public void Invalid_cache_settings_are_located_errors(string yaml, string path, string message)
    {
        var result = ConfigLoader.LoadText(yaml + "\nroutes:\n  - {path: /a, backend: 'http://127.0.0.1:9'}\n", "test.yaml", Directory.GetCurrentDirectory());
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Equal(1, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_listed_304_is_a_warning_it_is_never_stored()
    {
        var result = ConfigLoader.LoadText("cache: {enabled: true, cacheable_status_codes: [200, 304]}\nroutes:\n  - {path: /a, backend: 'http://127.0.0.1:9'}\n", "test.yaml", Directory.GetCurrentDirectory());
        Assert.False(result.HasErrors);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("cache.cacheable_status_codes[1]", warning.Path);
    }

    [SkippableFact]
    public void The_reference_cache_config_loads_and_each_route_gets_the_cache_its_comment_says()
    {
        Paths.RequireReferenceConfigs();
        var file = Path.Combine(Paths.ReferenceConfigs, "phase7-cache.yaml");
        var loaded = ConfigLoader.LoadFile(file);
        Assert.False(loaded.HasErrors, string.Join('\n', loaded.Problems));
        var runtime = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UtcNow);
        var stage = Gateway.Pipeline.GatewayFeatures.IndexOf<CacheStage>();
        CachePolicy? Policy(string path) => (CachePolicy?)runtime.Routes.Single(r => r.Source.Path == path).Policies[stage];

        Assert.Equal(300, Policy("/api/products/*path")!.Config.TtlSecs);
        Assert.Equal(3600, Policy("/api/categories")!.Config.TtlSecs);
        Assert.Equal(["Accept-Language", "Accept-Encoding"], Policy("/api/content/*path")!.KeyHeaders);
        Assert.Null(Policy("/api/users/:id/profile"));
        Assert.True(Policy("/api/personalized/*path")!.Config.CacheWithCookies);
        Assert.Contains(503, (IReadOnlySet<int>)Policy("/api/external/*path")!.Statuses);
        Assert.DoesNotContain(304, (IReadOnlySet<int>)Policy("/api/config")!.Statuses);
    }
}
