using Microsoft.Playwright;

namespace Gateway.Tests.Support;

/// <summary>
/// Debian's headless Chromium driven by Playwright, never a downloaded browser. Missing, it skips the test with the
/// reason, and fails it in CI (where .ci/run installs it).
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private const string Executable = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Chromium = browser;
    }

    public IBrowser Chromium { get; }

    public static async Task<Browser> LaunchAsync()
    {
        if (!File.Exists(Executable))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", $"{Executable} is missing (CI installs the chromium package)");
            Skip.If(true, $"{Executable} is not installed (apt-get install -y chromium)");
        }

        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            return new Browser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
