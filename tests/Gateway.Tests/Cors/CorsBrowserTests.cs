using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Cors;

/// <summary>
/// CORS as a browser enforces it: pages from one loopback origin fetch through the gateway, and Chromium itself
/// decides what the page may read.
/// </summary>
public sealed class CorsBrowserTests
{
    /// <summary>Runs a fetch in the page and says what the page saw: <c>ok:STATUS:EXPOSED</c> or <c>blocked</c>.</summary>
    private const string Fetch = """
        async ([url, init]) => {
          try {
            const response = await fetch(url, init);
            await response.text();
            return `ok:${response.status}:${response.headers.get('X-Request-Id') !== null}`;
          } catch (e) {
            return 'blocked';
          }
        }
        """;

    [SkippableFact]
    public async Task Chromium_reads_only_what_the_policy_allows()
    {
        await using var browser = await Browser.LaunchAsync();
        await using var allowedPages = await TestBackend.StartAsync(Page);
        await using var otherPages = await TestBackend.StartAsync(Page);
        await using var backend = await TestBackend.StartEchoAsync();
        var allowed = $"http://127.0.0.1:{allowedPages.Port}";
        await using var gateway = await TestGateway.StartAsync($$$"""
            routes:
              - path: /api/*rest
                backend: "{{{backend.Url}}}"
                cors:
                  allowed_origins: ["{{{allowed}}}"]
                  allowed_methods: [GET, PUT]
                  allowed_headers: [Content-Type, X-Trace]
                  exposed_headers: [X-Request-Id]
                  allow_credentials: true
              - path: /open/*rest
                backend: "{{{backend.Url}}}"
                cors: {allowed_origins: ["{{{allowed}}}"]}
            """);
        var api = $"http://127.0.0.1:{gateway.Port}/api/x";
        var open = $"http://127.0.0.1:{gateway.Port}/open/x";

        var page = await browser.Chromium.NewPageAsync();
        await page.GotoAsync(allowed + "/");
        Assert.Equal("ok:200:true", await page.EvaluateAsync<string>(Fetch, new object?[] { api, new { } }));
        // A PUT with a custom header needs a preflight, which the gateway answers.
        Assert.Equal("ok:200:true", await page.EvaluateAsync<string>(Fetch, new object?[] { api, new { method = "PUT", headers = new Dictionary<string, string> { ["X-Trace"] = "1", ["Content-Type"] = "application/json" }, body = "{}" } }));
        Assert.Equal("blocked", await page.EvaluateAsync<string>(Fetch, new object?[] { api, new { method = "DELETE" } }));
        Assert.Equal("blocked", await page.EvaluateAsync<string>(Fetch, new object?[] { api, new { headers = new Dictionary<string, string> { ["X-Secret"] = "1" } } }));

        // Credentials: only where the route allows them.
        Assert.Equal("ok:200:true", await page.EvaluateAsync<string>(Fetch, new object?[] { api, new { credentials = "include" } }));
        Assert.Equal("ok:200:false", await page.EvaluateAsync<string>(Fetch, new object?[] { open, new { } }));
        Assert.Equal("blocked", await page.EvaluateAsync<string>(Fetch, new object?[] { open, new { credentials = "include" } }));

        // Another origin cannot read anything.
        var other = await browser.Chromium.NewPageAsync();
        await other.GotoAsync($"http://127.0.0.1:{otherPages.Port}/");
        Assert.Equal("blocked", await other.EvaluateAsync<string>(Fetch, new object?[] { api, new { } }));
        Assert.Equal("blocked", await other.EvaluateAsync<string>(Fetch, new object?[] { open, new { } }));
    }

    private static async Task Page(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync("<!doctype html><html><body>page</body></html>");
    }
}
