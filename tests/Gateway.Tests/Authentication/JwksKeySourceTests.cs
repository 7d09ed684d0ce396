using Gateway.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Authentication;

public sealed class JwksKeySourceTests
{
    [Fact]
    public async Task Unknown_kids_refresh_at_most_once_per_30_seconds()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var fetches = 0;
        await using var idp = await TestBackend.StartAsync(context =>
        {
            Interlocked.Increment(ref fetches);
            return context.Response.WriteAsync(Tokens.Jwks((key, "a")));
        });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var source = new JwksKeySource(idp.Url + "/jwks", null, "RS256", time, null);

        await source.RefreshAsync();
        Assert.True(source.Knows("a"));
        Assert.Equal(1, fetches);

        await source.PrepareAsync("x");
        Assert.Equal(2, fetches);
        await source.PrepareAsync("y");
        time.Advance(TimeSpan.FromSeconds(29));
        await source.PrepareAsync("z");
        Assert.Equal(2, fetches);

        time.Advance(TimeSpan.FromSeconds(2));
        await source.PrepareAsync("z");
        Assert.Equal(3, fetches);

        // Known kids never cause a fetch, until the periodic refresh is due.
        await source.PrepareAsync("a");
        Assert.Equal(3, fetches);
        time.Advance(JwksKeySource.RefreshInterval);
        await source.PrepareAsync("a");
        await source.LastRefresh;
        Assert.Equal(4, fetches);
    }
}
