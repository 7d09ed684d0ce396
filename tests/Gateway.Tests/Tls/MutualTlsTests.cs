using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Tests.Tls;

/// <summary>Client certificates: verified against the client CA in the handshake, then the <c>mtls</c> auth method.</summary>
public sealed class MutualTlsTests : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();
    private readonly TestPki _other = TestPki.Create("Other CA");

    public void Dispose()
    {
        _pki.Dispose();
        _other.Dispose();
    }

    private async Task<TestGateway> StartAsync(TestBackend backend, bool require, string extraTls = "", string codec = "native")
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        return await TestGateway.StartOnCodecAsync(codec, $$$"""
            tls:
              cert_path: {{{cert}}}
              key_path: {{{key}}}
              enable_mtls: true
              ca_cert_path: {{{_pki.CaPath}}}
              require_client_cert: {{{(require ? "true" : "false")}}}
            {{{extraTls}}}
            auth:
              identity_headers:
                X-Client-Subject: subject
                X-Client-Fingerprint: "claim:fingerprint_sha256"
                X-Client-Uri: "claim:san_uri"
            routes:
              - {id: open, path: /open, backend: "{{{backend.Url}}}"}
              - {id: mtls, path: /mtls, backend: "{{{backend.Url}}}", auth: {required: true, methods: [mtls]}}
              - id: spiffe
                path: /spiffe
                backend: "{{{backend.Url}}}"
                auth: {required: true, methods: [mtls], claims: {san_uri: ["spiffe://test/allowed"]}}
            """);
    }

    private HttpClient Client(TestGateway gateway, X509Certificate2? certificate) =>
        new(_pki.Handler(certificate)) { BaseAddress = new Uri($"https://localhost:{gateway.Port}") };

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task A_valid_client_certificate_is_the_identity_and_its_headers_replace_the_clients(string codec)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, require: true, codec: codec);
        var certificate = _pki.IssueClient("client-a", "spiffe://test/allowed");
        using var client = Client(gateway, certificate);

        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/mtls") { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            request.Headers.Add("X-Client-Subject", "CN=admin");
            request.Headers.Add("X-Client-Fingerprint", "forged");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(version, response.Version);
            var echoed = await EchoedRequest.ReadAsync(response);
            Assert.Equal("CN=client-a", echoed.Header("X-Client-Subject"));
            Assert.Equal(Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256)), echoed.Header("X-Client-Fingerprint"));
            Assert.Equal("spiffe://test/allowed", echoed.Header("X-Client-Uri"));
        }

        using var spiffe = await client.GetAsync("/spiffe");
        Assert.Equal(HttpStatusCode.OK, spiffe.StatusCode);
    }

    [Fact]
    public async Task Certificates_from_another_ca_expired_or_missing_are_refused_in_the_handshake()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, require: true);

        using (var valid = Client(gateway, _pki.IssueClient("client-a")))
        {
            Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync("/open")).StatusCode);
        }

        X509Certificate2?[] refused =
        [
            _other.IssueClient("stranger"),
            _pki.IssueClient("old", notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1)),
            _pki.IssueClient("early", notBefore: DateTimeOffset.UtcNow.AddDays(1), notAfter: DateTimeOffset.UtcNow.AddDays(30)),
            _pki.IssueServer("a-server-certificate"),
            null,
        ];
        foreach (var certificate in refused)
        {
            using var client = Client(gateway, certificate);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/open"));
        }

        Assert.Equal(1, backend.Requests);

        // openssl agrees: without a certificate the server ends the handshake.
        var openssl = await TlsListenerTests.RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -servername localhost -tls1_2");
        Assert.NotEqual(0, openssl.ExitCode);
    }

    [Fact]
    public async Task Without_require_client_cert_a_certificate_is_optional_but_checked_when_sent()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, require: false);

        using var anonymous = Client(gateway, null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/open")).StatusCode);
        using var needs = await anonymous.GetAsync("/mtls");
        Assert.Equal(HttpStatusCode.Unauthorized, needs.StatusCode);
        Assert.Contains("TLS client certificate", await needs.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var valid = Client(gateway, _pki.IssueClient("client-b", "spiffe://test/other"));
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync("/mtls")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await valid.GetAsync("/spiffe")).StatusCode);

        using var stranger = Client(gateway, _other.IssueClient("stranger"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => stranger.GetAsync("/open"));
    }

    [Fact]
    public async Task A_certificate_in_the_crl_is_refused_and_a_new_crl_is_read_again()
    {
        var revoked = _pki.IssueClient("revoked");
        var kept = _pki.IssueClient("kept");
        var crl = _pki.WriteCrl("clients");
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend, require: true, $"  crl_path: {crl}\n  reload_interval_secs: 0.2");

        using (var before = Client(gateway, revoked))
        {
            Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/open")).StatusCode);
        }

        _pki.WriteCrl("clients", revoked);
        await TlsListenerTests.Eventually(async () =>
        {
            using var client = Client(gateway, revoked);
            try
            {
                await client.GetAsync("/open");
                return false;
            }
            catch (HttpRequestException)
            {
                return true;
            }
        });

        using var other = Client(gateway, kept);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/open")).StatusCode);
    }
}
