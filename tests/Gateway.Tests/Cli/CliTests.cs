using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Cli;

/// <summary>The command line as users meet it: exit codes, messages, files written.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData(new string[] { "explain" }, "gateway: explain needs FILE METHOD URL; missing: FILE METHOD URL")]
    [InlineData(new string[] { "explain", "config.yaml" }, "gateway: explain needs FILE METHOD URL; missing: METHOD URL")]
    public async Task Missing_arguments_are_named_once(string[] args, string expected)
    {
        var (code, _, stderr) = await GatewayProcess.RunAsync(_dir, args);
        Assert.Equal(1, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal([expected, "run 'gateway explain --help' for usage"], lines);
    }

    [Fact]
    public async Task Validate_reports_every_problem_with_location_and_exits_1()
    {
        var bad = Write("bad.yaml", """
            server:
              prot: 8080
            routes:
              - path: /a
                backend: not-a-url
              - path: /b
            """);
        var (code, stdout, stderr) = await GatewayProcess.RunAsync(_dir, "validate", bad);
        Assert.Equal(1, code);
        Assert.Contains($"{bad}:2:3: server.prot: unknown key 'prot'; did you mean 'port'?", stderr, StringComparison.Ordinal);
        Assert.Contains($"{bad}:5:14: routes[0].backend: must be an absolute http(s) URL", stderr, StringComparison.Ordinal);
        Assert.Contains($"{bad}:6:5: routes[1]: needs a target", stderr, StringComparison.Ordinal);
        Assert.Contains("gateway: 3 errors found", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Validate_json_and_success()
    {
        var good = Write("good.yaml", "routes:\n  - {path: /a, backend: 'http://127.0.0.1:3000'}\n");
        var bad = Write("bad.yaml", "routes:\n  - {path: /a, backend: 'http://127.0.0.1:3000', strip_prefx: true}\n");
        var (okCode, okOut, _) = await GatewayProcess.RunAsync(_dir, "validate", good);
        Assert.Equal(0, okCode);
        Assert.Contains("good.yaml: ok (1 route, 0 warnings)", okOut, StringComparison.Ordinal);

        var (code, stdout, _) = await GatewayProcess.RunAsync(_dir, "validate", good, bad, "--json");
        Assert.Equal(1, code);
        var problems = JsonDocument.Parse(stdout).RootElement;
        var problem = Assert.Single(problems.EnumerateArray());
        Assert.Equal(bad, problem.GetProperty("file").GetString());
        Assert.Equal(2, problem.GetProperty("line").GetInt32());
        Assert.Equal("routes[0].strip_prefx", problem.GetProperty("path").GetString());
        Assert.Equal("error", problem.GetProperty("severity").GetString());
        Assert.Contains("did you mean", problem.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Written for people too: an apostrophe is an apostrophe, not \u0027.
        Assert.Contains("'strip_prefx'", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_strict_fails_on_warnings_and_passes_a_clean_file()
    {
        var warned = Write("warned.yaml", "admin: {token: short}\nroutes:\n  - {path: /a, backend: 'http://127.0.0.1:3000'}\n");
        var clean = Write("clean.yaml", "routes:\n  - {path: /a, backend: 'http://127.0.0.1:3000'}\n");
        var (lenient, _, _) = await GatewayProcess.RunAsync(_dir, "validate", warned);
        Assert.Equal(0, lenient);
        var (code, _, stderr) = await GatewayProcess.RunAsync(_dir, "validate", "--strict", warned);
        Assert.Equal(1, code);
        Assert.Contains("admin.token: is shorter than 16 characters", stderr, StringComparison.Ordinal);
        Assert.Contains("1 warning found (--strict counts them as errors)", stderr, StringComparison.Ordinal);
        var (jsonCode, _, _) = await GatewayProcess.RunAsync(_dir, "validate", "--strict", "--json", warned);
        Assert.Equal(1, jsonCode);
        var (cleanCode, cleanOut, _) = await GatewayProcess.RunAsync(_dir, "validate", "--strict", clean);
        Assert.Equal(0, cleanCode);
        Assert.Contains("clean.yaml: ok (1 route, 0 warnings)", cleanOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_arguments_and_missing_files_are_user_errors()
    {
        var (missing, _, missingErr) = await GatewayProcess.RunAsync(_dir, "validate", "nope.yaml");
        Assert.Equal(1, missing);
        Assert.Contains("nope.yaml: file not found", missingErr, StringComparison.Ordinal);

        var (unknownVerb, _, _) = await GatewayProcess.RunAsync(_dir, "run", "--bogus");
        Assert.Equal(1, unknownVerb);

        var (badPort, _, badPortErr) = await GatewayProcess.RunAsync(_dir, "run", "--config", "x.yaml", "--port", "70000");
        Assert.Equal(1, badPort);
        Assert.Contains("--port must be between 0 and 65535", badPortErr, StringComparison.Ordinal);

        var (noConfig, _, noConfigErr) = await GatewayProcess.RunAsync(_dir, "run");
        Assert.Equal(1, noConfig);
        Assert.Contains("config/gateway.yaml does not exist here; write a starter one with 'gateway init --out config/gateway.yaml'", noConfigErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", noConfigErr, StringComparison.Ordinal);

        var (help, helpOut, _) = await GatewayProcess.RunAsync(_dir, "explain", "--help");
        Assert.Equal(0, help);
        Assert.Contains("--header", helpOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_shows_the_optional_config_of_run_as_optional()
    {
        var (code, stdout, _) = await GatewayProcess.RunAsync(_dir, "--help");
        Assert.Equal(0, code);
        Assert.Contains("  run [CONFIG] ", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("run <CONFIG>", stdout, StringComparison.Ordinal);
        Assert.Contains("  validate <FILE> ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task What_run_refuses_validate_reports_as_a_located_error()
    {
        var tls = Write("tls.yaml", "routes:\n  - {path: /a, mock: {status: 200}}\ntls:\n  cert_path: tls.yaml\n  key_path: tls.yaml\n");
        var (validate, _, validateErr) = await GatewayProcess.RunAsync(_dir, "validate", tls);
        Assert.Equal(1, validate);
        // A config file is no certificate: the error is at the key that names it.
        Assert.Contains($"{tls}:4:14: tls.cert_path: cannot load", validateErr, StringComparison.Ordinal);

        var (run, _, runErr) = await GatewayProcess.RunAsync(_dir, "run", tls, "--port", "0", "--admin-port", "0");
        Assert.Equal(1, run);
        Assert.Contains($"{tls}:4:14: tls.cert_path: cannot load", runErr, StringComparison.Ordinal);
        Assert.Contains("1 error in the config; not starting", runErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_up_says_in_one_line_what_runs()
    {
        var config = Write("summary.yaml", """
            hot_reload: {enabled: true}
            auth:
              api_key: {keys: {"sk_0123456789abcdef0123": ci}}
            routes:
              - {path: /a, backend: "http://127.0.0.1:9", auth: {required: true}, rate_limit: [{dimension: ip, requests: 5, window_secs: 1}]}
              - {path: /b, backends: [{url: "http://127.0.0.1:9"}, {url: "http://127.0.0.2:9"}]}
              - {path: /c, mock: {status: 200}}
            """);
        await using var process = GatewayProcess.Start(_dir, "run", config, "--port", "0", "--admin-port", "0");
        await process.WaitForAdminListeningAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!process.Stdout.Contains(" started: ", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var line = Assert.Single(process.Stdout.Split('\n'), l => l.Contains(" started: ", StringComparison.Ordinal));
        var summary = JsonDocument.Parse(line).RootElement;
        Assert.Matches(@"^gateway \d+\.\d+\.\d+\S* started: config ", summary.GetProperty("msg").GetString());
        Assert.Equal(config, summary.GetProperty("config").GetString());
        Assert.Equal(3, summary.GetProperty("routes").GetInt32());
        Assert.Equal(2, summary.GetProperty("backends").GetInt32());
        Assert.Equal("authentication, rate_limit, mocks, hot_reload", summary.GetProperty("features").GetString());
        Assert.Contains(summary.GetProperty("codec").GetString(), new[] { "native", "kestrel" });
    }

    [Fact]
    public async Task A_short_hmac_secret_is_warned_about_at_start_up_with_its_location()
    {
        var config = Write("short-secret.yaml", "auth:\n  jwt:\n    secret: only-sixteen-byte\n    algorithm: HS256\nroutes:\n  - {path: /a, mock: {status: 200}}\n");
        await using var process = GatewayProcess.Start(_dir, "run", config, "--port", "0", "--admin-port", "0");
        await process.WaitForAdminListeningAsync();
        var warning = Assert.Single(process.Stdout.Split('\n'), l => l.Contains("auth.jwt.secret", StringComparison.Ordinal));
        Assert.Contains($"{config}:3:13: warning: auth.jwt.secret: ", warning, StringComparison.Ordinal);
        Assert.Contains("shorter than 32 bytes", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("only-sixteen-byte", process.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_writes_a_config_that_validates_and_refuses_to_overwrite()
    {
        var (code, stdout, _) = await GatewayProcess.RunAsync(_dir, "init", "--out", "starter.yaml");
        Assert.Equal(0, code);
        Assert.Contains("wrote starter.yaml", stdout, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllText(Path.Combine(Paths.Repository, "config", "gateway.yaml")), File.ReadAllText(Path.Combine(_dir, "starter.yaml")));
        var (validCode, _, validErr) = await GatewayProcess.RunAsync(_dir, "validate", "starter.yaml");
        Assert.Equal(0, validCode);
        Assert.Equal("", validErr);

        var (again, _, againErr) = await GatewayProcess.RunAsync(_dir, "init", "--out", "starter.yaml");
        Assert.Equal(1, again);
        Assert.Contains("already exists; not overwriting", againErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Routes_explain_and_test_work_offline()
    {
        var config = Write("gw.yaml", """
            routes:
              - {id: catchall, path: "/*rest", backend: "http://10.0.0.9:80"}
              - {id: products, path: "/v1/products/*path", backend: "http://127.0.0.1:3002", strip_prefix: true, methods: [GET]}
              - {id: hello, path: /hello, mock: {status: 200, body: hi}}
            """);
        var (routesCode, table, _) = await GatewayProcess.RunAsync(_dir, "routes", config);
        Assert.Equal(0, routesCode);
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("#", lines[0], StringComparison.Ordinal);
        Assert.Contains("hello", lines[1], StringComparison.Ordinal);
        Assert.Contains("products", lines[2], StringComparison.Ordinal);
        Assert.Contains("strip_prefix", lines[2], StringComparison.Ordinal);
        Assert.Contains("catchall", lines[3], StringComparison.Ordinal);

        var (explainCode, explained, _) = await GatewayProcess.RunAsync(_dir, "explain", config, "GET", "http://shop.example/v1/x/../products/a/b?q=1", "-H", "Connection: X-Drop", "-H", "X-Drop: 1");
        Assert.Equal(0, explainCode);
        Assert.Contains("path        /v1/products/a/b  (normalized)", explained, StringComparison.Ordinal);
        Assert.Contains("route       products", explained, StringComparison.Ordinal);
        Assert.Contains("upstream    GET http://127.0.0.1:3002/a/b?q=1", explained, StringComparison.Ordinal);
        Assert.Contains("header    X-Forwarded-Host: shop.example", explained, StringComparison.Ordinal);
        Assert.Contains("removed   X-Drop", explained, StringComparison.Ordinal);

        var (notAllowedCode, notAllowed, _) = await GatewayProcess.RunAsync(_dir, "explain", config, "POST", "/v1/products/a");
        Assert.Equal(0, notAllowedCode);
        Assert.Contains("not       products", notAllowed, StringComparison.Ordinal);
        Assert.Contains("route       catchall", notAllowed, StringComparison.Ordinal);

        var cases = Write("cases.yaml", """
            cases:
              - name: products are stripped
                url: /v1/products/a/b?q=1
                expect: {route: products, upstream_path: /a/b?q=1, status: 200, headers: {X-Forwarded-Proto: http}}
              - name: mock answers
                url: /hello
                expect: {route: hello, status: 200}
              - name: encoded slash refused
                url: /v1/products/a%2Fb
                expect: {status: 400}
              - name: wrong on purpose
                method: DELETE
                url: /v1/products/a
                expect: {route: products}
            """);
        var (testCode, testOut, _) = await GatewayProcess.RunAsync(_dir, "test", config, cases);
        Assert.Equal(1, testCode);
        Assert.Contains("PASS  products are stripped", testOut, StringComparison.Ordinal);
        Assert.Contains("PASS  mock answers", testOut, StringComparison.Ordinal);
        Assert.Contains("PASS  encoded slash refused", testOut, StringComparison.Ordinal);
        Assert.Contains("FAIL  wrong on purpose", testOut, StringComparison.Ordinal);
        Assert.Contains("route: expected 'products', got 'catchall'", testOut, StringComparison.Ordinal);
        Assert.Contains("3 passed, 1 failed", testOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_lists_near_misses_and_checks_its_arguments()
    {
        var config = Write("e.yaml", """
            routes:
              - {id: hdr, path: /h, headers: {X-Client: "app"}, backend: "http://127.0.0.1:1"}
              - {id: q, path: /h, query: {debug: "2"}, backend: "http://127.0.0.1:1"}
              - {id: post, path: /h, methods: [POST], backend: "http://127.0.0.1:1"}
            """);
        var (code, output, _) = await GatewayProcess.RunAsync(_dir, "explain", config, "GET", "/h?debug=1");
        Assert.Equal(0, code);
        Assert.Contains("not       hdr  (routes[0] '/h'): header X-Client must be = 'app'", output, StringComparison.Ordinal);
        Assert.Contains("not       q  (routes[1] '/h'): query parameter debug must be = '2'", output, StringComparison.Ordinal);
        Assert.Contains("not       post  (routes[2] '/h'): method GET is not one of POST", output, StringComparison.Ordinal);
        Assert.Contains("answer      405", output, StringComparison.Ordinal);

        var (badMethod, _, badMethodErr) = await GatewayProcess.RunAsync(_dir, "explain", config, "G ET", "/h");
        Assert.Equal(1, badMethod);
        Assert.Contains("'G ET' is not a valid HTTP method", badMethodErr, StringComparison.Ordinal);

        var (badPort, badPortOut, badPortErr) = await GatewayProcess.RunAsync(_dir, "run", "--port", "abc");
        Assert.Equal(1, badPort);
        Assert.Equal("", badPortOut);
        Assert.Equal(2, badPortErr.Trim().Split('\n').Length);

        var (typo, _, typoErr) = await GatewayProcess.RunAsync(_dir, "valdate", "x.yaml");
        Assert.Equal(1, typo);
        Assert.Contains("unknown command 'valdate'; did you mean 'validate'?", typoErr, StringComparison.Ordinal);

        var (two, _, twoErr) = await GatewayProcess.RunAsync(_dir, "run", "--config", "a.yaml", "b.yaml");
        Assert.Equal(1, two);
        Assert.Contains("two config files given", twoErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bash", "complete -o filenames -F _gateway gateway")]
    [InlineData("zsh", "compdef _gateway gateway")]
    [InlineData("fish", "complete -c gateway")]
    public async Task Completion_scripts_name_every_verb(string shell, string marker)
    {
        var (code, script, _) = await GatewayProcess.RunAsync(_dir, "completion", shell);
        Assert.Equal(0, code);
        Assert.Contains(marker, script, StringComparison.Ordinal);
        foreach (var verb in new[] { "run", "validate", "init", "routes", "explain", "test", "keys", "schema", "completion" })
        {
            Assert.Contains(verb, script, StringComparison.Ordinal);
        }

        // Sub-verbs and the options that come with them, from the command tree.
        foreach (var word in new[] { "add", "revoke", "list", "strict" })
        {
            Assert.Contains(word, script, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bash_completion_script_is_valid_bash()
    {
        var (_, script, _) = await GatewayProcess.RunAsync(_dir, "completion", "bash");
        var path = Write("gateway.bash", script);
        using var bash = System.Diagnostics.Process.Start("bash", ["-n", path]);
        await bash.WaitForExitAsync();
        Assert.Equal(0, bash.ExitCode);
    }

    [Fact]
    public async Task Run_serves_the_default_config_and_drains_on_sigterm()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "config"));
        File.Copy(Path.Combine(Paths.Repository, "config", "gateway.yaml"), Path.Combine(_dir, "config", "gateway.yaml"));
        await using var gateway = GatewayProcess.Start(_dir, "--port", "0", "--admin-port", "0");
        var port = await gateway.WaitForListeningAsync();
        var adminPort = await gateway.WaitForListeningAsync("admin listening on");
        using var client = new HttpClient();
        using var hello = await client.GetAsync($"http://127.0.0.1:{port}/hello");
        Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
        Assert.Contains("hello from the gateway", await hello.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var ready = await client.GetAsync($"http://127.0.0.1:{adminPort}/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        gateway.Signal("TERM");
        Assert.Equal(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("\"msg\":\"stopped\"", gateway.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_lets_in_flight_requests_finish_while_readiness_turns_off()
    {
        await using var slow = await TestBackend.StartAsync(async context =>
        {
            await Task.Delay(1500);
            await context.Response.WriteAsync("done");
        });
        var config = Write("drain.yaml", $"server: {{host: 127.0.0.1, port: 0, shutdown_timeout_secs: 10}}\nroutes:\n  - {{path: /slow, backend: \"{slow.Url}\"}}\n");
        await using var gateway = GatewayProcess.Start(_dir, config, "--admin-port", "0");
        var port = await gateway.WaitForListeningAsync();
        var adminPort = await gateway.WaitForListeningAsync("admin listening on");
        using var client = new HttpClient();
        var inFlight = client.GetAsync($"http://127.0.0.1:{port}/slow");
        await Task.Delay(300);
        gateway.Signal("TERM");
        await Task.Delay(300);
        using var readiness = await client.GetAsync($"http://127.0.0.1:{adminPort}/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => new HttpClient().GetAsync($"http://127.0.0.1:{port}/slow"));
        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("done", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Run_refuses_an_invalid_config_and_a_taken_port()
    {
        var bad = Write("bad.yaml", "routes:\n  - {path: /a}\n");
        var (code, _, stderr) = await GatewayProcess.RunAsync(_dir, "run", bad);
        Assert.Equal(1, code);
        Assert.Contains("routes[0]: needs a target", stderr, StringComparison.Ordinal);
        Assert.Contains("1 error in the config; not starting", stderr, StringComparison.Ordinal);

        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var good = Write("good.yaml", $"server: {{host: 127.0.0.1, port: {port}}}\nadmin: {{port: 0}}\nroutes:\n  - {{path: /a, mock: {{status: 204}}}}\n");
        var (takenCode, takenOut, takenErr) = await GatewayProcess.RunAsync(_dir, good);
        Assert.Equal(1, takenCode);
        Assert.Contains("cannot listen", takenErr, StringComparison.Ordinal);
        Assert.Contains("address already in use", takenErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", takenOut + takenErr, StringComparison.Ordinal);
    }
}
