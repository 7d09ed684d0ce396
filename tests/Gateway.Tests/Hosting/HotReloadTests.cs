using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Hosting;

/// <summary>Reloading under traffic: file watch, SIGHUP and the admin API (SPEC section 6).</summary>
public sealed class HotReloadTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gw-reload-").FullName;
    private TestBackend _a = null!;
    private TestBackend _b = null!;

    private string ConfigPath => Path.Combine(_directory, "gateway.yaml");

    public async Task InitializeAsync()
    {
        _a = await TestBackend.StartAsync(context => context.Response.WriteAsync("a"));
        _b = await TestBackend.StartAsync(context => context.Response.WriteAsync("b"));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>A config with the stable route on one backend and one numbered route that changes with each version.</summary>
    private string Version(int n, string extra = "") => $$$"""
        server: {host: 127.0.0.1, port: 0}
        admin: {host: 127.0.0.1, port: 0}
        hot_reload: {enabled: true, debounce_ms: 50}
        logging: {access_log: false}
        routes:
          - {id: stable, path: /stable, backend: "{{{(n % 2 == 0 ? _a.Url : _b.Url)}}}"}
          - {id: "r{{{n}}}", path: "/r{{{n}}}", mock: {status: 200, body: "version {{{n}}}"}}
        {{{extra}}}
        """;

    /// <summary>Writes the way editors do: a temporary file renamed over the config.</summary>
    private void WriteAtomically(string text)
    {
        var temporary = Path.Combine(_directory, $".gateway.yaml.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(temporary, text);
        File.Move(temporary, ConfigPath, overwrite: true);
    }

    private static async Task WaitForVersionAsync(TestGateway gateway, long version)
    {
        for (var i = 0; i < 200 && gateway.Host.Store.Current.Version < version; i++)
        {
            await Task.Delay(25);
        }

        Assert.Equal(version, gateway.Host.Store.Current.Version);
    }

    [Fact]
    public async Task Ten_file_reloads_and_an_invalid_file_under_continuous_traffic_fail_no_request()
    {
        File.WriteAllText(ConfigPath, Version(0));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath);
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var served = 0;
        var clients = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using var client = new HttpClient { BaseAddress = gateway.Client.BaseAddress };
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.GetAsync("/stable");
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || body is not ("a" or "b"))
                {
                    lock (failures)
                    {
                        failures.Add($"{(int)response.StatusCode} {body}");
                    }
                }

                Interlocked.Increment(ref served);
            }
        })).ToList();

        var version = 1L;
        for (var n = 1; n <= 10; n++)
        {
            if (n == 5)
            {
                // Broken in the middle: refused with its location, and nothing changes.
                WriteAtomically(Version(n) + "\n  - {path: /broken, backend: not-a-url}\n");
                var lines = await gateway.LogLinesAsync(l => l.Any(x => x.Contains("reload (file change) refused", StringComparison.Ordinal)));
                Assert.Contains(lines, l => l.Contains("gateway.yaml:", StringComparison.Ordinal) && l.Contains("routes[2].backend", StringComparison.Ordinal));
                Assert.Equal(version, gateway.Host.Store.Current.Version);
                Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync("/r5")).StatusCode);
            }

            if (n % 3 == 0)
            {
                File.WriteAllText(ConfigPath, Version(n));
            }
            else
            {
                WriteAtomically(Version(n));
            }

            await WaitForVersionAsync(gateway, ++version);
            Assert.Equal($"version {n}", await gateway.Client.GetStringAsync($"/r{n}"));
            Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync($"/r{n - 1}")).StatusCode);
        }

        await stop.CancelAsync();
        await Task.WhenAll(clients);
        Assert.Empty(failures);
        Assert.True(served > 100, $"only {served} requests were served during the reloads");
        Assert.Equal("a", await gateway.Client.GetStringAsync("/stable"));
        var log = await gateway.LogLinesAsync(l => l.Any(x => x.Contains("version 11", StringComparison.Ordinal)));
        Assert.Contains(log, l => l.Contains("config reloaded (file change): version 11", StringComparison.Ordinal) && l.Contains("added r10", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rapid_successive_writes_end_on_the_last_version()
    {
        File.WriteAllText(ConfigPath, Version(0).Replace("debounce_ms: 50", "debounce_ms: 300", StringComparison.Ordinal));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath);
        for (var n = 1; n <= 20; n++)
        {
            WriteAtomically(Version(n).Replace("debounce_ms: 50", "debounce_ms: 300", StringComparison.Ordinal));
        }

        for (var i = 0; i < 100 && (await gateway.Client.GetAsync("/r20")).StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal("version 20", await gateway.Client.GetStringAsync("/r20"));
        Assert.True(gateway.Host.Store.Current.Version <= 3, $"20 writes within the debounce time made {gateway.Host.Store.Current.Version - 1} reloads");
    }

    [Fact]
    public async Task A_kubernetes_configmap_symlink_swap_triggers_a_reload()
    {
        // The kubelet's layout: config.yaml -> ..data/config.yaml, ..data -> a timestamped folder swapped by rename.
        void Publish(string folder, string text)
        {
            Directory.CreateDirectory(Path.Combine(_directory, folder));
            File.WriteAllText(Path.Combine(_directory, folder, "gateway.yaml"), text);
            var temporary = Path.Combine(_directory, "..data_tmp");
            File.CreateSymbolicLink(temporary, folder);
            // rename(2) of the link itself, as the kubelet does (File.Move would follow the link to a folder).
            using var rename = System.Diagnostics.Process.Start("mv", ["-T", "-f", temporary, Path.Combine(_directory, "..data")]);
            rename.WaitForExit();
            Assert.Equal(0, rename.ExitCode);
        }

        Publish("..2026_12_01_00_00_00.1", Version(0));
        File.CreateSymbolicLink(ConfigPath, Path.Combine("..data", "gateway.yaml"));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath);
        Publish("..2026_12_01_00_01_00.2", Version(1));
        await WaitForVersionAsync(gateway, 2);
        Assert.Equal("version 1", await gateway.Client.GetStringAsync("/r1"));
    }

    [Fact]
    public async Task The_admin_api_reloads_with_the_token_and_reports_problems()
    {
        File.WriteAllText(ConfigPath, Version(0).Replace("hot_reload: {enabled: true, debounce_ms: 50}", "", StringComparison.Ordinal)
            .Replace("admin: {host: 127.0.0.1, port: 0}", "admin: {host: 127.0.0.1, port: 0, token: a-long-admin-token-for-tests}", StringComparison.Ordinal));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath);
        File.WriteAllText(ConfigPath, Version(1).Replace("hot_reload: {enabled: true, debounce_ms: 50}", "", StringComparison.Ordinal)
            .Replace("admin: {host: 127.0.0.1, port: 0}", "admin: {host: 127.0.0.1, port: 0, token: a-long-admin-token-for-tests}", StringComparison.Ordinal));
        await Task.Delay(300);
        Assert.Equal(1, gateway.Host.Store.Current.Version);

        var anonymous = await gateway.Admin.PostAsync("/admin/reload", null);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/admin/reload") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "nope") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Admin.SendAsync(wrong)).StatusCode);
        Assert.Equal(1, gateway.Host.Store.Current.Version);

        gateway.Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "a-long-admin-token-for-tests");
        var reloaded = await gateway.Admin.PostAsync("/admin/reload", null);
        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        using var body = JsonDocument.Parse(await reloaded.Content.ReadAsStringAsync());
        Assert.Equal(2, body.RootElement.GetProperty("version").GetInt64());
        Assert.Equal("r1", body.RootElement.GetProperty("routes").GetProperty("added")[0].GetString());
        Assert.Equal("r0", body.RootElement.GetProperty("routes").GetProperty("removed")[0].GetString());
        Assert.Equal("stable", body.RootElement.GetProperty("routes").GetProperty("changed")[0].GetString());
        Assert.Equal(_b.Url, body.RootElement.GetProperty("backends").GetProperty("added")[0].GetString());
        Assert.Equal("version 1", await gateway.Client.GetStringAsync("/r1"));

        File.WriteAllText(ConfigPath, "routes:\n  - {path: /x, backend: nope}\n");
        var refused = await gateway.Admin.PostAsync("/admin/reload", null);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Contains("gateway.yaml:2:", problem.RootElement.GetProperty("problems")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(2, gateway.Host.Store.Current.Version);
        Assert.Equal("version 1", await gateway.Client.GetStringAsync("/r1"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await gateway.Admin.GetAsync("/admin/reload")).StatusCode);
    }

    [Fact]
    public async Task Keys_that_need_a_restart_are_refused_by_name_and_nothing_is_half_applied()
    {
        File.WriteAllText(ConfigPath, Version(0));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath);
        File.WriteAllText(ConfigPath, Version(1).Replace("server: {host: 127.0.0.1, port: 0}", "server: {host: 127.0.0.1, port: 0, limits: {max_headers: 50}}", StringComparison.Ordinal)
            .Replace("admin: {host: 127.0.0.1, port: 0}", "admin: {host: 127.0.0.1, port: 0, token: another-long-token-here}", StringComparison.Ordinal));
        var result = gateway.Host.Reload("test");
        Assert.False(result.Applied);
        Assert.Contains("server.limits, admin cannot change while the gateway runs", result.Problems[0], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync("/r1")).StatusCode);
        Assert.Equal("version 0", await gateway.Client.GetStringAsync("/r0"));
    }

    [Fact]
    public async Task Sighup_reloads_the_running_process_and_never_ends_it()
    {
        File.WriteAllText(ConfigPath, Version(0).Replace("hot_reload: {enabled: true, debounce_ms: 50}", "", StringComparison.Ordinal));
        await using var process = GatewayProcess.Start(_directory, "run", "--config", ConfigPath);
        var port = await process.WaitForListeningAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Assert.Equal("version 0", await client.GetStringAsync("/r0"));

        File.WriteAllText(ConfigPath, Version(1).Replace("hot_reload: {enabled: true, debounce_ms: 50}", "", StringComparison.Ordinal));
        process.Signal("HUP");
        for (var i = 0; i < 100 && (await client.GetAsync("/r1")).StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal("version 1", await client.GetStringAsync("/r1"));
        for (var i = 0; i < 100 && !process.Stdout.Contains("config reloaded (SIGHUP): version 2", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        Assert.Contains("config reloaded (SIGHUP): version 2", process.Stdout, StringComparison.Ordinal);

        File.WriteAllText(ConfigPath, "routes: [");
        process.Signal("HUP");
        for (var i = 0; i < 100 && !process.Stdout.Contains("reload (SIGHUP) refused", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        Assert.Contains("reload (SIGHUP) refused", process.Stdout, StringComparison.Ordinal);
        Assert.Equal("version 1", await client.GetStringAsync("/r1"));
        process.Signal("TERM");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_sighup_while_starting_is_a_reload_once_running_never_the_end_of_the_process()
    {
        // 30,000 routes take a second or more to load: SIGHUPs sent meanwhile arrive while the gateway starts.
        var bulk = string.Join('\n', Enumerable.Range(0, 30_000).Select(i => $"  - {{path: /bulk/{i}, mock: {{status: 200}}}}"));
        string Config(int n) => Version(n, bulk).Replace("hot_reload: {enabled: true, debounce_ms: 50}", "", StringComparison.Ordinal);
        File.WriteAllText(ConfigPath, Config(0));
        await using var process = GatewayProcess.Start(_directory, "run", "--config", ConfigPath);

        // The runtime itself takes a moment before any of the gateway's code runs (the signal's default action ends it then).
        await Task.Delay(400);
        File.WriteAllText(ConfigPath, Config(1));
        var sent = 0;
        while (!process.Stdout.Contains("\"msg\":\"listening on", StringComparison.Ordinal) && sent < 100)
        {
            Assert.False(process.HasExited, $"a SIGHUP while starting ended the gateway:\n{process.Stdout}\n{process.Stderr}");
            process.Signal("HUP");
            sent++;
            await Task.Delay(20);
        }

        var port = await process.WaitForListeningAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        for (var i = 0; i < 100 && (await client.GetAsync("/r1")).StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(50);
        }

        Assert.True(sent > 0, "the gateway was listening before a SIGHUP could be sent");
        Assert.Equal("version 1", await client.GetStringAsync("/r1"));
        process.Signal("TERM");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Without_a_token_the_admin_api_answers_only_requests_addressed_to_this_machine()
    {
        File.WriteAllText(ConfigPath, Version(0));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath);
        using var rebound = new HttpRequestMessage(HttpMethod.Post, "/admin/reload") { Headers = { Host = "attacker.example" } };
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Admin.SendAsync(rebound)).StatusCode);
        using var crossSite = new HttpRequestMessage(HttpMethod.Post, "/admin/reload") { Headers = { { "Origin", "https://attacker.example" } } };
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Admin.SendAsync(crossSite)).StatusCode);
        Assert.Equal(1, gateway.Host.Store.Current.Version);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Admin.PostAsync("/admin/reload", null)).StatusCode);
        using var probe = new HttpRequestMessage(HttpMethod.Get, "/readyz") { Headers = { Host = "10.1.2.3:9901" } };
        Assert.Equal(HttpStatusCode.OK, (await gateway.Admin.SendAsync(probe)).StatusCode);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("\"${UNSET_ADMIN_TOKEN:-}\"")]
    public void An_empty_admin_token_is_an_error_not_an_open_door(string token)
    {
        var result = Gateway.Configuration.ConfigLoader.LoadText($"admin: {{host: 0.0.0.0, token: {token}}}\nroutes: []\n", "a.yaml", ".", _ => null);
        Assert.Contains(result.Errors, e => e.Path == "admin.token");
    }
}
