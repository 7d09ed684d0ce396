using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Forwarding;

/// <summary>WebSocket upgrades pass through the gateway (YARP handles the upgrade; the pipeline runs first).</summary>
public sealed class WebSocketTests
{
    [Fact]
    public async Task Websocket_messages_round_trip_through_the_gateway()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        await using var backend = builder.Build();
        backend.UseWebSockets();
        backend.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[1024];
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            var reply = Encoding.UTF8.GetBytes("echo:" + Encoding.UTF8.GetString(buffer, 0, received.Count) + ":" + context.Request.Headers["X-User-Id"]);
            await socket.SendAsync(reply, WebSocketMessageType.Text, true, CancellationToken.None);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        });
        await backend.StartAsync();
        var port = new Uri(backend.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

        await using var gateway = await TestGateway.StartAsync($"routes:\n  - {{path: /ws, backend: \"http://127.0.0.1:{port}\"}}\n");
        using var client = new ClientWebSocket();
        client.Options.SetRequestHeader("X-User-Id", "forged");
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/ws"), CancellationToken.None);
        await client.SendAsync(Encoding.UTF8.GetBytes("hi"), WebSocketMessageType.Text, true, CancellationToken.None);
        var answer = new byte[1024];
        var result = await client.ReceiveAsync(answer, CancellationToken.None);
        Assert.Equal("echo:hi:", Encoding.UTF8.GetString(answer, 0, result.Count));
    }
}
