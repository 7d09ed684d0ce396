using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gateway.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Tls;

/// <summary>https backends: verified against the system store or the route's CA, named, and upstream mTLS.</summary>
public sealed class UpstreamTlsTests : IDisposable
{
    private readonly TestPki _backendCa = TestPki.Create("Backend CA");
    private readonly TestPki _gatewayCa = TestPki.Create("Gateway Client CA");

    public void Dispose()
    {
        _backendCa.Dispose();
        _gatewayCa.Dispose();
    }

    /// <summary>A Kestrel backend on https with a certificate of the backend CA; it may demand a client certificate of the gateway CA.</summary>
    private async Task<(WebApplication App, int Port)> StartBackendAsync(X509Certificate2 certificate, bool requireClientCertificate = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var clientCa = _gatewayCa.Ca;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ClientCertificateMode = requireClientCertificate ? Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate : Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.NoCertificate,
            ClientCertificateValidation = (presented, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(clientCa);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(presented);
            },
        })));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync($"tls backend; client={context.Connection.ClientCertificate?.Subject ?? "none"}; sni-host={context.Request.Host.Host}"));
        await app.StartAsync();
        var address = app.Urls.First();
        return (app, new Uri(address).Port);
    }

    private static string Route(string id, int port, string tlsUpstream, string host = "127.0.0.1") =>
        $"  - id: {id}\n    path: /{id}\n    backend: \"https://{host}:{port}\"\n" + (tlsUpstream.Length == 0 ? "" : "    tls_upstream: " + tlsUpstream + "\n");

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task An_https_backend_is_verified_against_the_routes_ca_or_the_system_store(string codec)
    {
        var (backend, port) = await StartBackendAsync(_backendCa.IssueServer("localhost"));
        await using var _ = backend;
        using var stranger = TestPki.Create("Stranger CA");
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, "routes:\n"
            + Route("own-ca", port, $"{{ca_path: {_backendCa.CaPath}}}")
            + Route("system", port, "")
            + Route("wrong-ca", port, $"{{ca_path: {stranger.CaPath}}}")
            + Route("insecure", port, "{insecure_skip_verify: true}"));

        using var ok = await gateway.Client.GetAsync("/own-ca");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.StartsWith("tls backend; client=none", await ok.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/system")).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/wrong-ca")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/insecure")).StatusCode);
    }

    [Fact]
    public async Task Server_name_is_the_name_the_backend_certificate_must_carry()
    {
        var (backend, port) = await StartBackendAsync(_backendCa.IssueServer("backend.internal", loopback: false));
        await using var _ = backend;
        await using var gateway = await TestGateway.StartAsync("routes:\n"
            + Route("named", port, $"{{ca_path: {_backendCa.CaPath}, server_name: backend.internal}}")
            + Route("unnamed", port, $"{{ca_path: {_backendCa.CaPath}}}")
            + Route("misnamed", port, $"{{ca_path: {_backendCa.CaPath}, server_name: other.internal}}"));

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/named")).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/unnamed")).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/misnamed")).StatusCode);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Upstream_mtls_presents_the_configured_client_certificate(string codec)
    {
        var (backend, port) = await StartBackendAsync(_backendCa.IssueServer("localhost"), requireClientCertificate: true);
        await using var _ = backend;
        var (cert, key) = _gatewayCa.WritePem(_gatewayCa.IssueClient("gateway-1"), "gateway-client");
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, "routes:\n"
            + Route("mtls", port, $"{{ca_path: {_backendCa.CaPath}, client_cert_path: {cert}, client_key_path: {key}}}")
            + Route("no-cert", port, $"{{ca_path: {_backendCa.CaPath}}}"));

        using var ok = await gateway.Client.GetAsync("/mtls");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.StartsWith("tls backend; client=CN=gateway-1", await ok.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadGateway, (await gateway.Client.GetAsync("/no-cert")).StatusCode);
    }

    [Fact]
    public void Insecure_skip_verify_is_a_loud_warning_and_bad_files_are_errors()
    {
        var result = ConfigLoader.LoadText("""
            routes:
              - {id: a, path: /a, backend: "https://127.0.0.1:1", tls_upstream: {insecure_skip_verify: true}}
              - {id: b, path: /b, backend: "https://127.0.0.1:1", tls_upstream: {ca_path: missing.pem, client_cert_path: missing.crt}}
              - {id: c, path: /c, backend: "http://127.0.0.1:1", tls_upstream: {server_name: x}}
            """, "t.yaml", _backendCa.Directory);
        Assert.Contains(result.Warnings, w => w.Path == "routes[0].tls_upstream.insecure_skip_verify" && w.Message.StartsWith("INSECURE", StringComparison.Ordinal));
        var errors = result.Errors.Select(e => e.Path).ToList();
        Assert.Contains("routes[1].tls_upstream.ca_path", errors);
        Assert.Contains("routes[1].tls_upstream.client_cert_path", errors);
        Assert.Contains("routes[1].tls_upstream.client_key_path", errors);
        Assert.Contains(result.Warnings, w => w.Path == "routes[2].tls_upstream");
    }
}
