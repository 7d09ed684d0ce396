using Gateway.Forwarding;
using Gateway.Routing;
using Microsoft.Extensions.Primitives;

namespace Gateway.Tests.Routing;

/// <summary>Encoded dot segments, invalid UTF-8 and the Connection header as the server hands it over.</summary>
public sealed class EncodedPathTests
{
    [Theory]
    [InlineData("/public/..%3bx/b", "DotSegmentWithParameters")]
    [InlineData("/public/%2e%2e%3Bx/b", "DotSegmentWithParameters")]
    [InlineData("/public/.%2E;/b", "DotSegmentWithParameters")]
    [InlineData("/public/%c0%ae%c0%ae/x", "InvalidPercentEncoding")]
    [InlineData("/public/%c0%af", "InvalidPercentEncoding")]
    [InlineData("/public/%ff", "InvalidPercentEncoding")]
    public void Encoded_dot_tricks_and_invalid_utf8_are_refused(string raw, string error)
    {
        Assert.Equal(Enum.Parse<PathError>(error), PathNormalizer.NormalizeTarget(raw).Error);
    }

    [Theory]
    [InlineData("/a%c3%a9b", "/a%C3%A9b")]
    [InlineData("/x/a;b", "/x/a;b")]
    [InlineData("/x/..a;b", "/x/..a;b")]
    public void Valid_encodings_and_parameters_pass(string raw, string expected)
    {
        var target = PathNormalizer.NormalizeTarget(raw);
        Assert.True(target.IsValid, target.Error.ToString());
        Assert.Equal(expected, target.Path);
    }

    [Theory]
    [InlineData("keep-alive, X-Foo", "keep-alive")]
    [InlineData("close, X-Foo", "close")]
    [InlineData("X-Foo, Upgrade", "Upgrade")]
    [InlineData("X-Foo, X-Bar", "X-Foo, X-Bar")]
    [InlineData("keep-alive, upgrade, X-Foo", "keep-alive, upgrade, X-Foo")]
    public void Offline_tools_see_the_connection_header_as_the_server_does(string sent, string seen)
    {
        Assert.Equal(seen, HopByHop.AsServerSees(new StringValues(sent)).ToString());
    }
}
