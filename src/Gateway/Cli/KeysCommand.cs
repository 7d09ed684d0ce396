using System.CommandLine;
using System.Security.Cryptography;
using Gateway.Authentication;
using Gateway.Configuration;

namespace Gateway.Cli;

/// <summary><c>gateway keys add|revoke|list --config FILE</c>: manage API keys in the Redis store the config names.</summary>
internal static class KeysCommand
{
    public static Command Build()
    {
        var config = new Option<string>("--config", "-c") { Description = "Config file naming auth.api_key.redis.", Required = true };

        var name = new Option<string>("--name") { Description = "Who the key belongs to (shown in logs and X-Api-Key-Name).", Required = true };
        var roles = new Option<string?>("--roles") { Description = "Comma-separated roles." };
        var tier = new Option<string?>("--tier") { Description = "A tier for later policies (for example free, pro)." };
        var key = new Option<string?>("--key") { Description = "Use this key instead of generating one." };
        var add = new Command("add", "Create a key (printed once; only its hash is stored).") { config, name, roles, tier, key };
        add.SetAction((parse, _) => AddAsync(parse.GetValue(config)!, parse.GetValue(name)!, parse.GetValue(roles), parse.GetValue(tier), parse.GetValue(key)));

        var revokeKey = new Option<string?>("--key") { Description = "The key itself." };
        var revokeId = new Option<string?>("--id") { Description = "The key's id, as 'keys list' shows it." };
        var revokeName = new Option<string?>("--name") { Description = "Every key with this name." };
        var revoke = new Command("revoke", "Delete keys by key, id or name; gateways stop accepting them within auth.api_key.cache_secs.")
        {
            config, revokeKey, revokeId, revokeName,
        };
        revoke.SetAction((parse, _) => RevokeAsync(parse.GetValue(config)!, parse.GetValue(revokeKey), parse.GetValue(revokeId), parse.GetValue(revokeName)));

        var list = new Command("list", "List the keys in the store (ids and names, never the keys).") { config };
        list.SetAction((parse, _) => ListAsync(parse.GetValue(config)!));

        return new Command("keys", "Manage API keys in the Redis key store the config names.") { add, revoke, list };
    }

    private static async Task<int> WithStoreAsync(string path, Func<RedisApiKeyStore, Task<int>> action)
    {
        var loaded = ConfigLoader.LoadFile(path);
        if (loaded.HasErrors)
        {
            foreach (var problem in loaded.Errors)
            {
                Console.Error.WriteLine(problem);
            }

            return CliApp.UserFailure($"{path} has errors");
        }

        if (loaded.Config!.Auth?.ApiKey?.Redis is not { } redis)
        {
            return CliApp.UserFailure($"{path} has no auth.api_key.redis; keys in the config file itself are edited there");
        }

        await using var store = new RedisApiKeyStore(redis.Url, redis.Prefix, TimeSpan.Zero, TimeProvider.System, null);
        try
        {
            return await action(store);
        }
        catch (Exception e) when (RedisCause(e) is { } cause)
        {
            // The address only: the URL may carry a password.
            var endpoint = Gateway.Redis.RedisUrl.ToOptions(redis.Url).EndPoints.FirstOrDefault();
            return CliApp.UserFailure($"cannot reach Redis at {endpoint} ({cause.GetType().Name})");
        }
    }

    /// <summary>The Redis failure behind an exception, also when it comes wrapped (a scan over keys wraps it in an AggregateException).</summary>
    private static Exception? RedisCause(Exception e) => e switch
    {
        StackExchange.Redis.RedisException or TimeoutException => e,
        AggregateException aggregate => aggregate.InnerExceptions.Select(RedisCause).FirstOrDefault(c => c is not null),
        _ => e.InnerException is { } inner ? RedisCause(inner) : null,
    };

    private static Task<int> AddAsync(string path, string name, string? roles, string? tier, string? key)
    {
        if (key is { } given && (given.Length is < 16 or > ApiKeyHash.MaxKeyLength || given.Trim() != given))
        {
            return Task.FromResult(CliApp.UserFailure($"--key must be 16 to {ApiKeyHash.MaxKeyLength} characters without surrounding spaces"));
        }

        if (string.IsNullOrWhiteSpace(name) || !IdentityHeaders.IsSafe(name) || name.Contains(',', StringComparison.Ordinal))
        {
            return Task.FromResult(CliApp.UserFailure("--name must be printable ASCII without commas (it is sent to backends in a header)"));
        }

        return WithStoreAsync(path, async store =>
        {
            var secret = key ?? "gw_" + Base64Url(RandomNumberGenerator.GetBytes(32));
            var roleList = (roles ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var id = await store.AddAsync(secret, name, roleList, tier);
            Console.Out.WriteLine(secret);
            Console.Error.WriteLine($"added key {id} for '{name}'; the key above is shown only now");
            return CliApp.Ok;
        });
    }

    private static Task<int> RevokeAsync(string path, string? key, string? id, string? name)
    {
        if ((key is null ? 0 : 1) + (id is null ? 0 : 1) + (name is null ? 0 : 1) != 1)
        {
            return Task.FromResult(CliApp.UserFailure("give exactly one of --key, --id and --name"));
        }

        if (id is not null && (id.Length < RedisApiKeyStore.MinIdLength || !id.All(char.IsAsciiHexDigit)))
        {
            return Task.FromResult(CliApp.UserFailure($"--id must be at least {RedisApiKeyStore.MinIdLength} hex digits of an id shown by 'keys list'"));
        }

        if (name is { Length: 0 } || key is { Length: 0 })
        {
            return Task.FromResult(CliApp.UserFailure("--name and --key must not be empty"));
        }

        return WithStoreAsync(path, async store =>
        {
            var removed = await store.RevokeAsync(key, id, name);
            if (removed == 0)
            {
                return CliApp.UserFailure("no matching key");
            }

            Console.Out.WriteLine($"revoked {removed} key{(removed == 1 ? "" : "s")}");
            return CliApp.Ok;
        });
    }

    private static Task<int> ListAsync(string path) => WithStoreAsync(path, async store =>
    {
        var rows = new List<string[]> { new[] { "ID", "NAME", "ROLES", "TIER", "CREATED" } };
        foreach (var entry in (await store.ListAsync()).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            rows.Add([entry.Id, entry.Name, Dash(entry.Roles), Dash(entry.Tier), Dash(entry.Created)]);
        }

        var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in rows)
        {
            Console.Out.WriteLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }

        return CliApp.Ok;

        static string Dash(string value) => value.Length == 0 ? "-" : value;
    });

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
