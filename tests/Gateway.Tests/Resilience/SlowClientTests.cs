using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Resilience;

/// <summary>A client that stops reading its response is the client's problem: it never counts against the backend.</summary>
public sealed class SlowClientTests
{
    [Theory]
    [InlineData("native", true)]
    [InlineData("native", false)]
    [InlineData("kestrel", true)]
    [InlineData("kestrel", false)]
    public async Task Clients_that_stop_reading_never_open_the_breaker(string codec, bool fastPath)
    {
        var big = new byte[8 * 1024 * 1024];
        await using var backend = await TestBackend.StartAsync(context =>
            context.Request.Path == "/big/small" ? context.Response.WriteAsync("small") : context.Response.Body.WriteAsync(big).AsTask());
        await using var gateway = await TestGateway.StartAsync($$$"""
            server: {host: 127.0.0.1, port: 0, timeout_secs: 1, http1_codec: {{{codec}}}}
            circuit_breaker: {failure_threshold: 2, success_threshold: 1, timeout_secs: 60, half_open_requests: 1}
            routes:
              - {path: "/big/*rest", backend: "{{{backend.Url}}}", health_check: {passive_enabled: true, unhealthy_threshold: 2}}
            """, http1FastPath: fastPath);

        // Three clients at once ask for the big body and read almost none of it.
        var stalled = new List<Socket>();
        for (var i = 0; i < 3; i++)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            await socket.ConnectAsync(IPAddress.Loopback, gateway.Port);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /big/p{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
            await socket.ReceiveAsync(new byte[200]);
            stalled.Add(socket);
        }

        // Longer than the route's timeout: the gateway gives up on them.
        await Task.Delay(3000);
        using var response = await gateway.Client.GetAsync("/big/small");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("small", await response.Content.ReadAsStringAsync());
        Assert.All(gateway.Host.State.Backends.Values, b => Assert.Equal(Gateway.Resilience.BreakerState.Closed, b.Breaker!.State));
        foreach (var socket in stalled)
        {
            socket.Dispose();
        }
    }
}
