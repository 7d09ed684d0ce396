using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Configuration;

namespace Gateway.Tests.Tls;

/// <summary>The HTTP-to-HTTPS redirect listener: the host of the redirect comes from config, never from the request.</summary>
public sealed class HttpRedirectTests : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Plain_http_is_redirected_to_the_configured_https_host_whatever_host_the_client_names()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        await using var gateway = await TestGateway.StartAsync(TlsListenerTests.TlsBlock(cert, key, "  redirect_http: {port: 0, host: public.example, https_port: 8443}") + TlsListenerTests.Routes);
        var port = gateway.Host.RedirectPort;
        Assert.NotEqual(0, port);

        var get = await SendAsync(port, "GET /a/b?x=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 301", get, StringComparison.Ordinal);
        Assert.Contains("\r\nLocation: https://public.example:8443/a/b?x=1\r\n", get, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", get, StringComparison.Ordinal);

        var post = await SendAsync(port, "POST //evil.example/x HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 308", post, StringComparison.Ordinal);
        Assert.Contains("\r\nLocation: https://public.example:8443//evil.example/x\r\n", post, StringComparison.Ordinal);

        // The TLS listener itself still answers.
        using var client = new HttpClient(_pki.Handler()) { BaseAddress = new Uri($"https://localhost:{gateway.Port}") };
        Assert.Equal("hello over tls", await client.GetStringAsync("/hello"));
    }

    [Fact]
    public void The_redirect_host_must_be_a_host_name_and_the_port_its_own()
    {
        var (cert, key) = _pki.WritePem(_pki.IssueServer("localhost"), "server");
        var result = ConfigLoader.LoadText($"server: {{port: 8443}}\ntls:\n  cert_path: {cert}\n  key_path: {key}\n  redirect_http: {{port: 8443, host: \"https://x.example/\"}}\nroutes:\n  - {{path: /a, mock: {{status: 200}}}}\n", "t.yaml", _pki.Directory);
        var errors = result.Errors.Select(e => e.Path).ToList();
        Assert.Contains("tls.redirect_http.port", errors);
        Assert.Contains("tls.redirect_http.host", errors);
        Assert.Equal("https://x.example", Gateway.Tls.HttpRedirect.Origin(new HttpRedirectConfig { Host = "x.example", HttpsPort = 443 }, 8443));
    }

    private static async Task<string> SendAsync(int port, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }
}
