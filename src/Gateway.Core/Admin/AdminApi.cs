using System.Security.Cryptography;
using System.Text;
using Gateway.Hosting;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Admin;

/// <summary>
/// The admin listener's endpoints. <c>/healthz</c> and <c>/readyz</c> are open; every other path needs
/// <c>Authorization: Bearer &lt;admin.token&gt;</c> when a token is configured.
/// </summary>
internal sealed class AdminApi(Lifecycle lifecycle, string? token)
{
    private readonly byte[]? _tokenBytes = token is null ? null : Encoding.UTF8.GetBytes(token);

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

        if (path == "/metrics")
        {
            // Open like /healthz once it exists; until then say plainly that it does not.
            return Problems.WriteAsync(context, StatusCodes.Status404NotFound, "urn:gateway:problem:not-found", "Not Found",
                "Metrics are not served by this version yet.");
        }

        if (!Authorized(context))
        {
            return Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, "urn:gateway:problem:admin-unauthorized", "Unauthorized",
                "The admin API needs Authorization: Bearer <admin.token>.", "WWW-Authenticate", "Bearer realm=\"gateway-admin\"");
        }

        return Problems.WriteAsync(context, StatusCodes.Status404NotFound, "urn:gateway:problem:not-found", "Not Found", "No admin endpoint at this path.");
    }

    private bool Authorized(HttpContext context)
    {
        if (_tokenBytes is null)
        {
            // Without a token the listener is bound to loopback only (see GatewayHost).
            return true;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = Encoding.UTF8.GetBytes(header[7..].Trim());
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(presented), SHA256.HashData(_tokenBytes));
    }

    private static Task Json(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(body);
    }
}
