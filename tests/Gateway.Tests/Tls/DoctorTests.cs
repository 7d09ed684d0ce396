using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.Tls;

/// <summary><c>gateway doctor FILE</c>: live checks of ports, backends and certificates, exit 1 on a problem.</summary>
public sealed class DoctorTests : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Doctor_reports_ports_backends_and_certificates_and_fails_on_a_problem()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _pki.WritePem(_pki.IssueServer("localhost", ["localhost", "api.test"]), "server");
        var healthy = Path.Combine(_pki.Directory, "healthy.yaml");
        File.WriteAllText(healthy, $$"""
            server: {host: 127.0.0.1, port: 0}
            admin: {port: 0}
            tls: {cert_path: server.crt, key_path: server.key}
            routes:
              - {path: /a, backend: "{{backend.Url}}"}
            """);
        var (ok, okOut, _) = await GatewayProcess.RunAsync(_pki.Directory, "doctor", healthy);
        Assert.True(ok == 0, okOut);
        Assert.Contains($"ok   backend {backend.Url} accepts connections", okOut, StringComparison.Ordinal);
        Assert.Matches(@"ok   cert    tls: CN=localhost, names \[localhost, api\.test, 127\.0\.0\.1\], expires \d{4}-\d\d-\d\d \(in 3\d\d days\)", okOut);
        Assert.Contains("everything checked is ready", okOut, StringComparison.Ordinal);

        var broken = Path.Combine(_pki.Directory, "broken.yaml");
        File.WriteAllText(broken, $$"""
            server: {host: 127.0.0.1, port: {{takenPort}}}
            admin: {port: 0}
            routes:
              - {path: /a, backend: "{{backend.Url}}"}
              - {path: /b, backend: "http://127.0.0.1:{{closedPort}}"}
            """);
        var (bad, badOut, _) = await GatewayProcess.RunAsync(_pki.Directory, "doctor", broken);
        Assert.Equal(1, bad);
        Assert.Contains($"FAIL port    server.port: 127.0.0.1:{takenPort} cannot be bound: already in use", badOut, StringComparison.Ordinal);
        Assert.Contains($"FAIL backend http://127.0.0.1:{closedPort} is unreachable: connection refused", badOut, StringComparison.Ordinal);
        Assert.Contains("2 problems found", badOut, StringComparison.Ordinal);
    }
}
