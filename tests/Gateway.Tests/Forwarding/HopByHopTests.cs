using Gateway.Forwarding;
using Microsoft.Extensions.Primitives;

namespace Gateway.Tests.Forwarding;

public sealed class HopByHopTests
{
    [Fact]
    public void Connection_tokens_name_headers_but_not_connection_options()
    {
        var names = HopByHop.Nominated(new StringValues("keep-alive, X-Secret,  X-Other ,close, Upgrade, bad header"));
        Assert.Equal(["X-Secret", "X-Other"], names);
    }

    [Fact]
    public void Nominated_headers_are_removed_from_the_upstream_request()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://x/");
        request.Headers.TryAddWithoutValidation("X-Secret", "s");
        request.Content = new StringContent("x");
        HopByHop.RemoveNominated(new StringValues("X-Secret, Content-Type"), request);
        Assert.False(request.Headers.Contains("X-Secret"));
        Assert.Null(request.Content.Headers.ContentType);
    }
}
