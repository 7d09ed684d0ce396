using Gateway.Configuration;

namespace Gateway.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private static ConfigLoadResult Load(string yaml, Func<string, string?>? env = null) =>
        ConfigLoader.LoadText(yaml, "gw.yaml", Directory.GetCurrentDirectory(), env ?? (_ => null));

    private static string[] Errors(ConfigLoadResult result) => [.. result.Errors.Select(e => e.ToString())];

    [Fact]
    public void Defaults_of_the_earlier_gateway_apply()
    {
        var result = Load("routes:\n  - path: /a\n    backend: http://127.0.0.1:3000\n");
        Assert.False(result.HasErrors, string.Join('\n', result.Problems));
        var config = result.Config!;
        Assert.Equal("0.0.0.0", config.Server.Host);
        Assert.Equal(8080, config.Server.Port);
        Assert.Equal(30, config.Server.TimeoutSecs);
        Assert.Equal(30, config.Server.ShutdownTimeoutSecs);
        Assert.Equal("127.0.0.1", config.Admin.Host);
        Assert.Equal(9901, config.Admin.Port);
        Assert.Equal("json", config.Logging.Format);
        Assert.True(config.Logging.AccessLog);
        Assert.Equal("X-API-Key", new ApiKeyConfig().Header);
        Assert.Equal(30, new JwtConfig().ClockSkewSecs);
    }

    [Fact]
    public void Unknown_key_is_an_error_with_location_and_suggestion()
    {
        var result = Load("server:\n  prot: 8080\nroutes:\n  - path: /a\n    backend: http://127.0.0.1:3000\n");
        var error = Assert.Single(result.Errors);
        Assert.Equal("gw.yaml:2:3: server.prot: unknown key 'prot'; did you mean 'port'?", error.ToString());
    }

    [Fact]
    public void Every_problem_is_reported_not_only_the_first()
    {
        const string yaml = """
            server:
              port: eighty
              timeout_secs: -1
            routes:
              - path: /a
                backend: ftp://x
              - path: b
                backends:
                  - url: http://127.0.0.1:1
                    weight: 0
              - path: /c
                backend: http://127.0.0.1:3000
                backends:
                  - url: http://127.0.0.1:3001
              - path: /d
            """;
        var errors = Errors(Load(yaml));
        Assert.Contains("gw.yaml:2:9: server.port: must be an integer, got 'eighty'", errors);
        Assert.Contains(errors, e => e.StartsWith("gw.yaml:3:17: server.timeout_secs: must be a number of seconds between 0 and", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("gw.yaml:6:14: routes[0].backend: must be an absolute http(s) URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("gw.yaml:7:11: routes[1].path: 'b' must start with '/'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("gw.yaml:10:17: routes[1].backends[0].weight: must be between 1 and 10000", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("routes[2]: has more than one target", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("routes[3]: needs a target", StringComparison.Ordinal));
        Assert.True(errors.Length >= 7);
    }

    [Fact]
    public void Wrong_shapes_are_type_errors()
    {
        var errors = Errors(Load("routes:\n  path: /a\nserver: 5\nlogging:\n  access_log: maybe\n"));
        Assert.Contains(errors, e => e.Contains("routes: must be a list (a mapping given)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("server: must be a mapping of keys (a single value given)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("logging.access_log: must be true or false, got 'maybe'", StringComparison.Ordinal));
    }

    [Fact]
    public void Malformed_yaml_is_reported_with_its_location()
    {
        var result = Load("routes:\n  - path: /a\n   backend: [unclosed\n");
        var error = Assert.Single(result.Errors);
        Assert.StartsWith("gw.yaml:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("invalid YAML", error.Message, StringComparison.Ordinal);
        Assert.True(error.Line >= 2);
    }

    [Fact]
    public void Duplicate_route_ids_and_invalid_values_are_errors()
    {
        const string yaml = """
            server:
              trusted_proxies: ["10.0.0.1/8", "not-an-ip"]
            routes:
              - id: users
                path: /a
                backend: http://127.0.0.1:1
                headers:
                  X-V: {regex: "(unclosed"}
              - id: users
                path: /b
                backend: http://127.0.0.1:1
                cors:
                  allowed_origins: ["*"]
                  allow_credentials: true
            """;
        var errors = Errors(Load(yaml));
        Assert.Contains(errors, e => e.Contains("routes[1].id: duplicate route id 'users' (also routes[0])", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'10.0.0.1/8' has bits set beyond the /8 prefix; did you mean '10.0.0.0/8'?", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("server.trusted_proxies[1]: 'not-an-ip' is not a valid", StringComparison.Ordinal)
            || e.Contains("server.trusted_proxies[1]: 'not-an-ip' is not an IP address", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("routes[0].headers.X-V.regex: regex does not compile", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("routes[1].cors.allow_credentials: cannot be true when allowed_origins contains '*'", StringComparison.Ordinal));
    }

    [Fact]
    public void Jwt_rules()
    {
        var rs = Load("auth:\n  jwt:\n    algorithm: RS256\nroutes: []\n");
        Assert.Contains(Errors(rs), e => e.Contains("auth.jwt: RS256 needs public_key, jwks_url or oidc_issuer", StringComparison.Ordinal));

        var shortSecret = Load("auth:\n  jwt:\n    secret: short\nroutes: []\n");
        Assert.False(shortSecret.HasErrors);
        var warning = Assert.Single(shortSecret.Warnings, w => w.Path == "auth.jwt.secret");
        Assert.Contains("shorter than 32 bytes", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short", warning.Message.Replace("shorter", "", StringComparison.Ordinal), StringComparison.Ordinal);

        var missing = Load("routes:\n  - path: /a\n    backend: http://127.0.0.1:1\n    auth: {required: true, methods: [jwt]}\n");
        Assert.Contains(missing.Warnings, w => w.ToString().Contains("routes[0].auth.methods[0]: jwt is asked for, but auth.jwt is not configured", StringComparison.Ordinal));
    }

    [Fact]
    public void Tls_files_that_do_not_exist_are_errors()
    {
        var errors = Errors(Load("tls:\n  cert_path: /nonexistent/cert.pem\n  key_path: /nonexistent/key.pem\nroutes: []\n"));
        Assert.Contains(errors, e => e.Contains("tls.cert_path: file '/nonexistent/cert.pem' does not exist", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("tls.key_path: file '/nonexistent/key.pem' does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void Interpolation_fills_values_and_reports_missing_variables()
    {
        var env = new Dictionary<string, string> { ["PORT"] = "9000", ["BACKEND"] = "http://127.0.0.1:3000" };
        var ok = Load("server:\n  port: ${PORT}\n  timeout_secs: ${TIMEOUT:-12}\nroutes:\n  - path: /a\n    backend: ${BACKEND}\n", n => env.GetValueOrDefault(n));
        Assert.False(ok.HasErrors, string.Join('\n', ok.Problems));
        Assert.Equal(9000, ok.Config!.Server.Port);
        Assert.Equal(12, ok.Config.Server.TimeoutSecs);
        Assert.Equal("http://127.0.0.1:3000", ok.Config.Routes[0].Backend);

        var missing = Load("routes:\n  - path: /a\n    backend: ${NOPE}\n");
        Assert.Contains("gw.yaml:3:14: routes[0].backend: environment variable NOPE is not set (give a default with ${NOPE:-value})", Errors(missing));
    }

    [Fact]
    public void Secrets_never_appear_in_problems()
    {
        const string yaml = """
            auth:
              api_key:
                keys:
                  "sk_live_very_secret_value": 7
                  " padded-secret-key ": "x"
              jwt:
                secret: "tiny-secret"
            admin:
              token: "abc"
            routes: []
            """;
        var problems = string.Join('\n', Load(yaml).Problems);
        Assert.DoesNotContain("sk_live_very_secret_value", problems, StringComparison.Ordinal);
        Assert.DoesNotContain("padded-secret-key", problems, StringComparison.Ordinal);
        Assert.DoesNotContain("tiny-secret", problems, StringComparison.Ordinal);
        Assert.Contains("auth.api_key.keys[1]", problems, StringComparison.Ordinal);
    }

    [Fact]
    public void Earlier_spellings_are_accepted()
    {
        var result = Load("circuit_breaker:\n  half_open_max_requests: 7\nrate_limiting:\n  global:\n    - {dimension: apikey, requests: 5, window_secs: 60}\nroutes: []\n");
        Assert.False(result.HasErrors, string.Join('\n', result.Problems));
        Assert.Equal(7, result.Config!.CircuitBreaker!.HalfOpenRequests);
    }

    [Fact]
    public void Empty_and_missing_files_are_errors()
    {
        Assert.True(Load("").HasErrors);
        Assert.True(Load("# only a comment\n").HasErrors);
        var missing = ConfigLoader.LoadFile("/nonexistent/gateway.yaml");
        Assert.Equal("/nonexistent/gateway.yaml: file not found", Assert.Single(missing.Errors).ToString());
    }

    [Fact]
    public void Shadowed_route_is_a_warning()
    {
        var result = Load("routes:\n  - path: /a/:x\n    backend: http://127.0.0.1:1\n  - path: /a/:y\n    backend: http://127.0.0.1:2\n    methods: [GET]\n");
        Assert.False(result.HasErrors);
        Assert.Contains(result.Warnings, w => w.Path == "routes[1]" && w.Message.Contains("never reached", StringComparison.Ordinal));
    }
}
