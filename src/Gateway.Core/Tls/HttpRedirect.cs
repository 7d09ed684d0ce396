using System.Net;
using Gateway.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Tls;

/// <summary>
/// The optional plain-HTTP listener beside the TLS one: every request gets a redirect to the same path and query
/// on <c>https://</c> + the configured host. The host comes from config only: a redirect built from the request's
/// Host would send clients wherever a forged header says.
/// </summary>
internal static class HttpRedirect
{
    /// <summary>The redirect's origin (<c>https://host[:port]</c>) for the listener's config.</summary>
    public static string Origin(HttpRedirectConfig redirect, int serverPort)
    {
        var port = redirect.HttpsPort ?? serverPort;
        var host = redirect.Host.Contains(':', StringComparison.Ordinal) ? $"[{redirect.Host}]" : redirect.Host;
        return port == 443 ? "https://" + host : $"https://{host}:{port}";
    }

    public static WebApplication Build(HttpRedirectConfig redirect, string listenHost, int serverPort, ILoggerProvider logs)
    {
        var origin = Origin(redirect, serverPort);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "gateway-redirect" });
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0;
            void Configure(ListenOptions listen) => listen.Protocols = HttpProtocols.Http1;
            if (listenHost == "localhost")
            {
                kestrel.ListenLocalhost(redirect.Port, Configure);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(listenHost), redirect.Port, Configure);
            }
        });
        builder.Services.AddSingleton<IHostLifetime, QuietLifetime>();
        var app = builder.Build();
        app.Run(context =>
        {
            var target = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
            // Origin-form only; anything else (absolute-form, '*') goes to the root.
            var path = target.StartsWith('/') ? target : "/";
            var response = context.Response;
            response.StatusCode = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)
                ? StatusCodes.Status301MovedPermanently
                : StatusCodes.Status308PermanentRedirect;
            response.Headers.Location = origin + path;
            response.Headers.Connection = "close";
            response.ContentLength = 0;
            return Task.CompletedTask;
        });
        return app;
    }

    private sealed class QuietLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
