using System.Net;
using Gateway.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>
/// Keys this build accepts but does not enforce yet: each is warned about once, where it is written, and none that
/// protects anything fails open (its routes answer 503 instead).
/// </summary>
public sealed class NotEnforcedTests
{
    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, "test.yaml", Directory.GetCurrentDirectory());

    [Fact]
    public void Each_unenforced_key_is_warned_about_once_at_its_location_naming_its_routes()
    {
        var result = Load("""
            admin:
              persist: /tmp/applied.yaml
            routes:
              - path: /a
                mock: {status: 200}
                websocket: {idle_timeout_secs: 30}
              - path: /b
                mock: {status: 200}
                websocket: {idle_timeout_secs: 30}
              - path: /c
                mock: {status: 200}
                websocket: {idle_timeout_secs: 30}
              - path: /d
                mock: {status: 200}
                websocket: {idle_timeout_secs: 30}
              - path: /e
                mock: {status: 200}
                websocket: {idle_timeout_secs: 30}
            """);
        Assert.False(result.HasErrors, string.Join('\n', result.Problems));
        var warnings = result.Warnings.ToList();
        Assert.True(warnings.Count == 2, string.Join('\n', warnings));

        var persist = Assert.Single(warnings, w => w.Path == "admin.persist");
        Assert.Equal(2, persist.Line);
        Assert.StartsWith("test.yaml:2:", persist.ToString(), StringComparison.Ordinal);
        Assert.Contains("admin.persist: not enforced yet: applied configs are not written back", persist.ToString(), StringComparison.Ordinal);

        var websocket = Assert.Single(warnings, w => w.Path == "routes[0].websocket");
        Assert.Equal(6, websocket.Line);
        Assert.EndsWith("; set on routes[0] (/a), routes[1] (/b), routes[2] (/c) and 2 more", websocket.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_warning_of_every_example_and_reference_config_has_a_location()
    {
        var files = Directory.GetFiles(Path.Combine(Paths.Repository, "examples"), "*.yaml").ToList();
        files.Add(Path.Combine(Paths.Repository, "config", "gateway.yaml"));
        if (Directory.Exists(Paths.ReferenceConfigs))
        {
            files.AddRange(Directory.GetFiles(Paths.ReferenceConfigs, "*.yaml"));
        }

        foreach (var file in files)
        {
            foreach (var warning in ConfigLoader.LoadFile(file).Warnings)
            {
                Assert.True(warning.Line > 0 && warning.Column > 0 && warning.Path.Length > 0, $"{file}: a warning without a location: {warning}");
            }
        }
    }

    [Fact]
    public void Problems_come_in_file_order()
    {
        var result = Load("""
            server:
              http2: true
            routes:
              - path: /a
                backend: "http://127.0.0.1:9"
                websocket: {idle_timeout_secs: 30}
              - {path: /b, backend: nope}
            """);
        var lines = result.Problems.Select(p => p.Line).ToList();
        Assert.Equal(lines.Order(), lines);
        Assert.Equal(3, result.Problems.Count);
    }

    [Fact]
    public void Tls_with_files_that_are_no_certificate_is_an_error_at_the_key()
    {
        // TLS is served now (tests/Gateway.Tests/Tls); a tls block whose files do not load still refuses to start.
        var result = Load("routes:\n  - {path: /a, mock: {status: 200}}\ntls:\n  cert_path: /etc/hostname\n  key_path: /etc/hostname\n");
        var error = Assert.Single(result.Errors);
        Assert.Equal("tls.cert_path", error.Path);
        Assert.Contains("cannot load", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_route_with_websocket_limits_refuses_upgrades_and_serves_plain_requests()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - {path: /ws, backend: "{{{backend.Url}}}", websocket: {idle_timeout_secs: 60} }
            """);
        using var upgrade = new HttpRequestMessage(HttpMethod.Get, "/ws");
        upgrade.Headers.TryAddWithoutValidation("Connection", "Upgrade");
        upgrade.Headers.TryAddWithoutValidation("Upgrade", "websocket");
        upgrade.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        upgrade.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
        using (var refused = await gateway.Client.SendAsync(upgrade))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains("websocket limits", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(0, backend.Requests);
        using var plain = await gateway.Client.GetAsync("/ws");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
    }
}
