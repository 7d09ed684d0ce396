using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Support;

/// <summary>A real HTTP backend on loopback (Kestrel), answering with what it received unless told otherwise.</summary>
public sealed class TestBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;
    private int _connections;
    private int _open;

    private TestBackend(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Connections open now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Starts a backend that echoes every request as JSON (method, raw target, headers, body size).</summary>
    public static Task<TestBackend> StartEchoAsync() => StartAsync(EchoAsync);

    public static async Task<TestBackend> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        TestBackend? backend = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
            {
                Interlocked.Increment(ref backend!._connections);
                Interlocked.Increment(ref backend._open);
                try
                {
                    await next(connection);
                }
                finally
                {
                    Interlocked.Decrement(ref backend._open);
                }
            }));
            k.Limits.MaxRequestBodySize = null;
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        backend = new TestBackend(app);
        app.Run(context =>
        {
            Interlocked.Increment(ref backend._requests);
            return handler(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend.Port = new Uri(address).Port;
        return backend;
    }

    public static async Task EchoAsync(HttpContext context)
    {
        long bodyBytes = 0;
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
        {
            bodyBytes += read;
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Request.Headers)
        {
            headers[name] = value.ToString();
        }

        var echo = new EchoedRequest(
            context.Request.Method,
            context.Features.Get<IHttpRequestFeature>()!.RawTarget,
            headers,
            bodyBytes);
        var body = JsonSerializer.SerializeToUtf8Bytes(echo);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        context.Response.Headers["X-Backend-Port"] = context.Connection.LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.Body.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>What the echo backend saw.</summary>
public sealed record EchoedRequest(string Method, string Target, Dictionary<string, string> Headers, long BodyBytes)
{
    public static async Task<EchoedRequest> ReadAsync(HttpResponseMessage response)
    {
        return Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Parses the echo from a JSON body (or a raw HTTP response with a Content-Length body).</summary>
    public static EchoedRequest Parse(string text)
    {
        var head = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var json = text.StartsWith("HTTP/", StringComparison.Ordinal) && head > 0 ? text[(head + 4)..] : text;
        return JsonSerializer.Deserialize<EchoedRequest>(json) ?? throw new InvalidOperationException("empty echo: " + text);
    }

    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}
