using System.Net;
using Gateway.Authentication;

namespace Gateway.Tests.Authentication;

/// <summary>API keys in a real redis-server shared by gateways: added, revoked, and Redis going away.</summary>
public sealed class RedisApiKeyTests
{
    private static HttpRequestMessage WithKey(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/data");
        request.Headers.Add("X-API-Key", key);
        return request;
    }

    private static string Config(string redisUrl, string backend) => $$$"""
        auth:
          api_key:
            keys: {"emergency_key_123": "Emergency access key"}
            redis: {url: "{{{redisUrl}}}", prefix: "gateway:apikey:"}
            cache_secs: 1
        routes:
          - {path: /data, backend: "{{{backend}}}", auth: {required: true, methods: [apikey]}}
        """;

    [SkippableFact]
    public async Task Keys_added_and_revoked_in_redis_take_effect_within_the_cache_time()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(redis.Url, backend.Url));
        await using var admin = new RedisApiKeyStore(redis.Url, null, TimeSpan.Zero, TimeProvider.System, null);

        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(WithKey("gw_partner_key_0001"))).StatusCode);
        await admin.AddAsync("gw_partner_key_0001", "partner", ["reader"], "pro");
        await Task.Delay(1100);
        var echo = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(WithKey("gw_partner_key_0001")));
        Assert.Equal("partner", echo.Header("X-Api-Key-Name"));
        Assert.Equal("reader", echo.Header("X-User-Roles"));

        Assert.Equal(1, await admin.RevokeAsync("gw_partner_key_0001", null, null));
        await Task.Delay(1100);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.SendAsync(WithKey("gw_partner_key_0001"))).StatusCode);

        // The in-memory fallback key always works.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(WithKey("emergency_key_123"))).StatusCode);
    }

    [SkippableFact]
    public async Task Keys_of_the_earlier_gateway_layout_are_accepted()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(redis.Url, backend.Url));
        var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        await connection.GetDatabase().StringSetAsync("gateway:apikey:legacy_key_abcdef", "Legacy client");
        var echo = await EchoedRequest.ReadAsync(await gateway.Client.SendAsync(WithKey("legacy_key_abcdef")));
        Assert.Equal("Legacy client", echo.Header("X-Api-Key-Name"));
        await connection.CloseAsync();
    }

    [SkippableFact]
    public async Task Redis_outage_serves_recent_keys_refuses_unknown_ones_with_503_and_recovers()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Config(redis.Url, backend.Url));
        await using var admin = new RedisApiKeyStore(redis.Url, null, TimeSpan.Zero, TimeProvider.System, null);
        await admin.AddAsync("gw_known_key_00001", "known", [], null);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(WithKey("gw_known_key_00001"))).StatusCode);

        await redis.StopAsync();
        await Task.Delay(1100);
        var started = DateTime.UtcNow;
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.SendAsync(WithKey("gw_known_key_00001"))).StatusCode);
        using var unknown = await gateway.Client.SendAsync(WithKey("gw_unknown_key_0001"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unknown.StatusCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "an unreachable Redis must cost a bounded time");

        await redis.StartAgainAsync();
        await using var freshAdmin = new RedisApiKeyStore(redis.Url, null, TimeSpan.Zero, TimeProvider.System, null);
        await freshAdmin.AddAsync("gw_after_restart_01", "late", [], null);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpStatusCode status;
        do
        {
            await Task.Delay(300);
            status = (await gateway.Client.SendAsync(WithKey("gw_after_restart_01"))).StatusCode;
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Readiness_waits_for_the_key_store_at_start_up_and_the_outage_is_logged_once()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var dir = Directory.CreateTempSubdirectory("gateway-keys-").FullName;
        try
        {
            var config = Path.Combine(dir, "gw.yaml");
            File.WriteAllText(config, $$$"""
                server: {host: 127.0.0.1, port: 0}
                admin: {port: 0}
                auth:
                  api_key:
                    keys: {"emergency_key_123": "Emergency access key"}
                    redis: {url: "redis://127.0.0.1:{{{RawBackend.RefusedPort()}}}", startup_wait_secs: 1}
                routes:
                  - {path: /data, backend: "{{{backend.Url}}}", auth: {required: true, methods: [apikey]}}
                """);
            await using var process = GatewayProcess.Start(dir, "run", "--config", config);
            using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{await process.WaitForAdminListeningAsync()}") };
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("/readyz")).StatusCode);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while ((await admin.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/readyz")).StatusCode);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{await process.WaitForListeningAsync()}") };
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(WithKey("emergency_key_123"))).StatusCode);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.SendAsync(WithKey("gw_unknown_key_0001"))).StatusCode);
            }

            for (var i = 0; i < 100 && !process.Stdout.Contains("API key store: Redis is unreachable", StringComparison.Ordinal); i++)
            {
                // (The log writer writes a moment after readiness may already say so.)
                await Task.Delay(50);
            }

            Assert.Single(System.Text.RegularExpressions.Regex.Matches(process.Stdout, "API key store: Redis is unreachable"));
            Assert.Contains("not reached within 1 s of start-up", process.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("list")]
    [InlineData("add")]
    [InlineData("revoke")]
    public async Task Keys_cli_with_redis_unreachable_is_a_one_line_user_error_without_credentials(string verb)
    {
        var dir = Directory.CreateTempSubdirectory("gateway-keys-").FullName;
        try
        {
            var config = Path.Combine(dir, "gw.yaml");
            var port = RawBackend.RefusedPort();
            File.WriteAllText(config, Config($"redis://user:s3cr3t-pass@127.0.0.1:{port}", "http://127.0.0.1:1"));
            string[] args = verb switch
            {
                "add" => ["keys", "add", "--config", config, "--name", "x"],
                "revoke" => ["keys", "revoke", "--config", config, "--name", "x"],
                _ => ["keys", "list", "--config", config],
            };
            var (code, _, stderr) = await GatewayProcess.RunAsync(dir, args);
            Assert.Equal(1, code);
            Assert.Contains($"cannot reach Redis at 127.0.0.1:{port}", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cr3t", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("internal error", stderr, StringComparison.Ordinal);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public async Task Keys_cli_adds_lists_and_revokes()
    {
        await using var redis = await RedisServer.StartAsync();
        var dir = Directory.CreateTempSubdirectory("gateway-keys-").FullName;
        try
        {
            var config = Path.Combine(dir, "gw.yaml");
            File.WriteAllText(config, Config(redis.Url, "http://127.0.0.1:1"));
            var (addCode, key, addErr) = await GatewayProcess.RunAsync(dir, "keys", "add", "--config", config, "--name", "billing", "--roles", "a,b", "--tier", "pro");
            Assert.Equal(0, addCode);
            key = key.Trim();
            Assert.StartsWith("gw_", key, StringComparison.Ordinal);
            Assert.Contains("shown only now", addErr, StringComparison.Ordinal);

            var (listCode, listed, _) = await GatewayProcess.RunAsync(dir, "keys", "list", "--config", config);
            Assert.Equal(0, listCode);
            Assert.Contains("billing", listed, StringComparison.Ordinal);
            Assert.Contains("a,b", listed, StringComparison.Ordinal);
            Assert.DoesNotContain(key, listed, StringComparison.Ordinal);

            await using var store = new RedisApiKeyStore(redis.Url, null, TimeSpan.Zero, TimeProvider.System, null);
            Assert.Equal(StoreOutcome.Found, (await store.FindAsync(key)).Outcome);

            var (revokeCode, revoked, _) = await GatewayProcess.RunAsync(dir, "keys", "revoke", "--config", config, "--name", "billing");
            Assert.Equal(0, revokeCode);
            Assert.Contains("revoked 1 key", revoked, StringComparison.Ordinal);
            Assert.Equal(StoreOutcome.NotFound, (await store.FindAsync(key)).Outcome);

            var (noneCode, _, noneErr) = await GatewayProcess.RunAsync(dir, "keys", "revoke", "--config", config, "--name", "billing");
            Assert.Equal(1, noneCode);
            Assert.Contains("no matching key", noneErr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
