using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Tests.Tls;

/// <summary>The public listener over TLS, spoken to by real TLS clients (HttpClient, SslStream, openssl, curl).</summary>
public sealed class TlsListenerTests : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    public void Dispose() => _pki.Dispose();

    internal static string Routes => """
        routes:
          - {id: hello, path: /hello, mock: {status: 200, body: "hello over tls"}}
        """;

    internal static string TlsBlock(string cert, string key, string extra = "") => $"""
        tls:
          cert_path: {cert}
          key_path: {key}
          reload_interval_secs: 0.2
        {extra}

        """;

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Https_is_served_by_either_http1_codec(string codec)
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, TlsBlock(cert, key) + $$"""
            routes:
              - {id: echo, path: /echo, backend: "{{backend.Url}}"}
            """);
        using var client = new HttpClient(_pki.Handler()) { BaseAddress = new Uri($"https://localhost:{gateway.Port}") };
        client.DefaultRequestVersion = HttpVersion.Version11;
        client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;

        using var response = await client.GetAsync("/echo");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version11, response.Version);
        var echoed = await EchoedRequest.ReadAsync(response);
        Assert.Equal("https", echoed.Header("X-Forwarded-Proto"));

        // The plain-HTTP client gets no answer from the TLS listener.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => gateway.Client.GetAsync("/echo"));
    }

    [Theory]
    [InlineData("native")]
    [InlineData("kestrel")]
    public async Task Alpn_offers_h2_and_http11(string codec)
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        await using var gateway = await TestGateway.StartOnCodecAsync(codec, TlsBlock(cert, key) + Routes);
        using var client = new HttpClient(_pki.Handler()) { BaseAddress = new Uri($"https://localhost:{gateway.Port}") };

        using var h2 = new HttpRequestMessage(HttpMethod.Get, "/hello") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var h2Response = await client.SendAsync(h2);
        Assert.Equal(HttpVersion.Version20, h2Response.Version);
        Assert.Equal("hello over tls", await h2Response.Content.ReadAsStringAsync());

        using var h1 = new HttpRequestMessage(HttpMethod.Get, "/hello") { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var h1Response = await client.SendAsync(h1);
        Assert.Equal(HttpVersion.Version11, h1Response.Version);
        Assert.Equal("hello over tls", await h1Response.Content.ReadAsStringAsync());

        Assert.Equal("h2", await NegotiatedAlpnAsync(gateway.Port, [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11]));
        Assert.Equal("http/1.1", await NegotiatedAlpnAsync(gateway.Port, [SslApplicationProtocol.Http11]));
    }

    [Fact]
    public async Task Http2_false_offers_http11_only()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        await using var gateway = await TestGateway.StartAsync("server: {host: 127.0.0.1, port: 0, http2: false}\n" + TlsBlock(cert, key) + Routes);
        Assert.Equal("http/1.1", await NegotiatedAlpnAsync(gateway.Port, [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11]));
    }

    [Fact]
    public async Task Tls11_is_refused_and_tls12_and_13_are_accepted()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        await using var gateway = await TestGateway.StartAsync(TlsBlock(cert, key) + Routes);

        // The client is allowed TLS 1.1 (security level 0), so a failure is the server's refusal.
        var old = await RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -tls1_1 -cipher DEFAULT@SECLEVEL=0 -servername localhost");
        Assert.Contains("alert protocol version", old.Output);
        Assert.Contains("Cipher is (NONE)", old.Output);
        Assert.NotEqual(0, old.ExitCode);

        var twelve = await RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -tls1_2 -servername localhost");
        Assert.Equal(0, twelve.ExitCode);
        Assert.Contains("TLSv1.2", twelve.Output);
        var thirteen = await RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -tls1_3 -servername localhost");
        Assert.Equal(0, thirteen.ExitCode);
        Assert.Contains("TLSv1.3", thirteen.Output);

        var curlOld = await RunAsync("curl", $"-sS -o /dev/null --cacert {_pki.CaPath} --tlsv1.1 --tls-max 1.1 --ciphers DEFAULT@SECLEVEL=0 https://localhost:{gateway.Port}/hello");
        Assert.NotEqual(0, curlOld.ExitCode);
        var curl = await RunAsync("curl", $"-sS --cacert {_pki.CaPath} --tlsv1.2 https://localhost:{gateway.Port}/hello");
        Assert.Equal(0, curl.ExitCode);
        Assert.Contains("hello over tls", curl.Output);
    }

    [Fact]
    public async Task Cbc_cipher_suites_are_not_offered_on_tls12()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        await using var gateway = await TestGateway.StartAsync(TlsBlock(cert, key) + Routes);
        var cbc = await RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA -servername localhost");
        Assert.NotEqual(0, cbc.ExitCode);
        var gcm = await RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -servername localhost");
        Assert.Equal(0, gcm.ExitCode);
    }

    [Fact]
    public async Task Sni_chooses_the_certificate_for_the_host_name()
    {
        var (defaultCert, defaultKey) = _pki.WritePem(_pki.IssueServer("default.test"), "default");
        var (aCert, aKey) = _pki.WritePem(_pki.IssueServer("a.test", ["a.test", "www.a.test"]), "a");
        var (wildCert, wildKey) = _pki.WritePem(_pki.IssueServer("wild.b.test", ["*.b.test"]), "wild");
        await using var gateway = await TestGateway.StartAsync($$"""
            tls:
              cert_path: {{defaultCert}}
              key_path: {{defaultKey}}
              certificates:
                - {hosts: [a.test, www.a.test], cert_path: {{aCert}}, key_path: {{aKey}}}
                - {hosts: ["*.b.test"], cert_path: {{wildCert}}, key_path: {{wildKey}}}

            """ + Routes);

        Assert.Equal("CN=a.test", await ServerSubjectAsync(gateway.Port, "a.test"));
        Assert.Equal("CN=a.test", await ServerSubjectAsync(gateway.Port, "WWW.A.TEST"));
        Assert.Equal("CN=wild.b.test", await ServerSubjectAsync(gateway.Port, "x.b.test"));
        Assert.Equal("CN=default.test", await ServerSubjectAsync(gateway.Port, "x.y.b.test"));
        Assert.Equal("CN=default.test", await ServerSubjectAsync(gateway.Port, "other.test"));

        var openssl = await RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -servername a.test");
        Assert.Matches("subject=\\s*CN\\s*=\\s*a\\.test", openssl.Output);
        var noSni = await RunAsync("openssl", $"s_client -connect 127.0.0.1:{gateway.Port} -noservername");
        Assert.Matches("subject=\\s*CN\\s*=\\s*default\\.test", noSni.Output);

        // An HttpClient asking for a.test is answered with a.test's certificate (its host name check passes).
        using var handler = _pki.Handler(targetHost: "a.test");
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{gateway.Port}/hello");
        request.Headers.Host = "a.test";
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_pkcs12_certificate_is_served()
    {
        var server = _pki.IssueServer("localhost");
        var p12 = Path.Combine(_pki.Directory, "server.p12");
        File.WriteAllBytes(p12, server.Export(X509ContentType.Pkcs12, "s3cret"));
        await using var gateway = await TestGateway.StartAsync($"""
            tls:
              cert_path: {p12}
              cert_password: s3cret

            """ + Routes);
        Assert.Equal("CN=localhost", await ServerSubjectAsync(gateway.Port, "localhost"));
    }

    [Fact]
    public async Task A_certificate_rotated_on_disk_is_served_to_new_handshakes_while_open_connections_go_on()
    {
        var first = _pki.IssueServer("localhost");
        var (cert, key) = _pki.WritePem(first, "rotating");
        await using var gateway = await TestGateway.StartAsync(TlsBlock(cert, key) + Routes);

        var connections = 0;
        using var handler = _pki.Handler();
        handler.MaxConnectionsPerServer = 1;
        handler.PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5);
        handler.ConnectCallback = async (context, cancel) =>
        {
            Interlocked.Increment(ref connections);
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(context.DnsEndPoint, cancel);
            return new NetworkStream(socket, ownsSocket: true);
        };
        using var open = new HttpClient(handler) { BaseAddress = new Uri($"https://localhost:{gateway.Port}") };
        Assert.Equal("hello over tls", await open.GetStringAsync("/hello"));
        Assert.Equal(first.Thumbprint, await ServerThumbprintAsync(gateway.Port));

        var second = _pki.IssueServer("localhost");
        _pki.WritePem(second, "rotating");
        await Eventually(async () => await ServerThumbprintAsync(gateway.Port) == second.Thumbprint);

        // The connection opened before the rotation still works, and it is the same connection.
        Assert.Equal("hello over tls", await open.GetStringAsync("/hello"));
        Assert.Equal(1, connections);

        // A file that cannot be loaded keeps the last good certificate, and says so.
        File.WriteAllText(cert, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        var lines = await gateway.LogLinesAsync(lines => lines.Any(l => l.Contains("cannot be loaded", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("cannot be loaded", StringComparison.Ordinal) && l.Contains("previous certificate stays", StringComparison.Ordinal));
        Assert.Equal(second.Thumbprint, await ServerThumbprintAsync(gateway.Port));
        Assert.Equal("hello over tls", await open.GetStringAsync("/hello"));
        Assert.Equal(1, connections);
    }

    [Fact]
    public async Task A_kubernetes_style_symlink_swap_is_picked_up()
    {
        // As the kubelet mounts a secret: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/, swapped by rename.
        var mount = Path.Combine(_pki.Directory, "mount");
        Directory.CreateDirectory(Path.Combine(mount, "..v1"));
        var first = _pki.IssueServer("localhost");
        _pki.WritePem(first, "tls", Path.Combine(mount, "..v1"));
        File.CreateSymbolicLink(Path.Combine(mount, "..data"), "..v1");
        File.CreateSymbolicLink(Path.Combine(mount, "tls.crt"), "..data/tls.crt");
        File.CreateSymbolicLink(Path.Combine(mount, "tls.key"), "..data/tls.key");
        await using var gateway = await TestGateway.StartAsync(TlsBlock(Path.Combine(mount, "tls.crt"), Path.Combine(mount, "tls.key")) + Routes);
        Assert.Equal(first.Thumbprint, await ServerThumbprintAsync(gateway.Port));

        Directory.CreateDirectory(Path.Combine(mount, "..v2"));
        var second = _pki.IssueServer("localhost");
        _pki.WritePem(second, "tls", Path.Combine(mount, "..v2"));
        File.CreateSymbolicLink(Path.Combine(mount, "..data_tmp"), "..v2");
        var rename = await RunAsync("mv", $"-Tf {Path.Combine(mount, "..data_tmp")} {Path.Combine(mount, "..data")}");
        Assert.Equal(0, rename.ExitCode);
        Directory.Delete(Path.Combine(mount, "..v1"), recursive: true);

        await Eventually(async () => await ServerThumbprintAsync(gateway.Port) == second.Thumbprint);
    }

    internal static async Task<string> NegotiatedAlpnAsync(int port, List<SslApplicationProtocol> offered)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = offered,
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        });
        return ssl.NegotiatedApplicationProtocol.ToString();
    }

    internal static async Task<X509Certificate2> ServerCertificateAsync(int port, string serverName, SslProtocols protocols = SslProtocols.None)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        });
        return X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.GetRawCertData());
    }

    private static async Task<string> ServerSubjectAsync(int port, string serverName) => (await ServerCertificateAsync(port, serverName)).Subject;

    private static async Task<string> ServerThumbprintAsync(int port) => (await ServerCertificateAsync(port, "localhost")).Thumbprint;

    internal static async Task Eventually(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 300; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("the condition did not become true within 15 s");
    }

    internal static async Task<(int ExitCode, string Output)> RunAsync(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
