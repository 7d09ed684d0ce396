using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Hosting;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Admin;

/// <summary>
/// The admin listener's endpoints. <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> are open; every other path needs
/// <c>Authorization: Bearer &lt;admin.token&gt;</c> when a token is configured (compared in constant time). Without a
/// token the listener is bound to loopback only (see <see cref="GatewayHost"/>).
/// </summary>
internal sealed class AdminApi(Lifecycle lifecycle, ConfigReloader reloader, Observability.Metrics.PrometheusExporter? exporter, string? token)
{
    /// <summary>The most an admin request body may carry.</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    private readonly byte[]? _tokenHash = token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public void Map(IApplicationBuilder app) => app.Run(HandleAsync);

    private Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        switch (path)
        {
            case "/healthz":
                return Json(context, StatusCodes.Status200OK, """{"status":"ok"}""");
            case "/readyz":
                return lifecycle.IsReady
                    ? Json(context, StatusCodes.Status200OK, """{"status":"ready"}""")
                    : Json(context, StatusCodes.Status503ServiceUnavailable, lifecycle.IsDraining ? """{"status":"draining"}""" : """{"status":"starting"}""");
        }

        if (path == "/metrics" && exporter is not null)
        {
            // Open like /healthz (SPEC section 4): Prometheus scrapes without the admin token.
            return MetricsAsync(context, exporter);
        }

        if (_tokenHash is null && !FromThisMachine(context))
        {
            // Without a token the listener is on loopback; a browser page that rebinds a name of its own to 127.0.0.1,
            // or posts across origins, must still not reach it.
            return Problem(context, StatusCodes.Status403Forbidden, "urn:gateway:problem:admin-forbidden", "Forbidden",
                "Without admin.token the admin API answers only requests addressed to this machine, not from web pages.");
        }

        if (!Authorized(context))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"gateway-admin\"";
            return Problem(context, StatusCodes.Status401Unauthorized, "urn:gateway:problem:admin-unauthorized", "Unauthorized",
                "The admin API needs Authorization: Bearer <admin.token>.");
        }

        if (path == "/admin/reload")
        {
            if (!HttpMethods.IsPost(context.Request.Method))
            {
                context.Response.Headers.Allow = "POST";
                return Problem(context, StatusCodes.Status405MethodNotAllowed, "urn:gateway:problem:method-not-allowed", "Method Not Allowed", "Reload with POST.");
            }

            return ReloadAsync(context);
        }

        return Problem(context, StatusCodes.Status404NotFound, "urn:gateway:problem:not-found", "Not Found", "No admin endpoint at this path.");
    }

    private static Task MetricsAsync(HttpContext context, Observability.Metrics.PrometheusExporter exporter)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET, HEAD";
            return Problem(context, StatusCodes.Status405MethodNotAllowed, "urn:gateway:problem:method-not-allowed", "Method Not Allowed", "Scrape metrics with GET.");
        }

        var body = exporter.Scrape();
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = Observability.Metrics.PrometheusExporter.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(body).AsTask();
    }

    private async Task ReloadAsync(HttpContext context)
    {
        // Loading and compiling is synchronous work; it runs off the listener's I/O thread.
        var result = await Task.Run(() => reloader.Reload("admin API")).ConfigureAwait(false);
        if (!result.Applied)
        {
            await Problem(context, StatusCodes.Status400BadRequest, "urn:gateway:problem:reload-refused", "Reload Refused", result.Message, result.Problems).ConfigureAwait(false);
            return;
        }

        var diff = result.Diff!;
        var body = JsonSerializer.Serialize(new
        {
            status = "reloaded",
            version = result.Version,
            routes = new { added = diff.RoutesAdded, removed = diff.RoutesRemoved, changed = diff.RoutesChanged },
            backends = new { added = diff.BackendsAdded, removed = diff.BackendsRemoved },
        });
        await Json(context, StatusCodes.Status200OK, body).ConfigureAwait(false);
    }

    private bool Authorized(HttpContext context)
    {
        if (_tokenHash is null)
        {
            return true;
        }

        var header = context.Request.Headers.Authorization;
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Only spaces and tabs are trimmed: a value that is nothing but other whitespace is not an empty token.
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(value[7..].Trim(' ', '\t')));
        return CryptographicOperations.FixedTimeEquals(presented, _tokenHash);
    }

    /// <summary>Addressed to a loopback name or address, and not sent by a web page of another origin.</summary>
    private static bool FromThisMachine(HttpContext context)
    {
        var host = Routing.HostNames.Normalize(context.Request.Headers.Host.ToString());
        var loopback = host is "localhost" || (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));
        if (!loopback || context.Request.Headers.Origin.Count > 0)
        {
            return false;
        }

        var site = context.Request.Headers["Sec-Fetch-Site"];
        return site.Count == 0 || site.ToString() is "none" or "same-origin";
    }

    private static Task Json(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(body);
    }

    private static Task Problem(HttpContext context, int status, string type, string title, string detail, IReadOnlyList<string>? problems = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = Problems.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        var body = problems is null
            ? JsonSerializer.Serialize(new { type, title, status, detail })
            : JsonSerializer.Serialize(new { type, title, status, detail, problems });
        return context.Response.WriteAsync(body);
    }
}
