using Gateway.Compression;
using Microsoft.Extensions.Primitives;

namespace Gateway.Tests.Compression;

/// <summary>Choosing a coding from Accept-Encoding (RFC 9110 section 12.5.3), without a network.</summary>
public sealed class AcceptEncodingTests
{
    [Theory]
    [InlineData("zstd, br, gzip", "zstd")]
    [InlineData("gzip;q=1.000, br;q=0.999", "gzip")]
    [InlineData("gzip ; q=0.8 , br ; q=0.9", "br")]
    [InlineData("gzip;q=0.001", "gzip")]
    [InlineData("gzip;q=0.0", null)]
    [InlineData("gzip;q=1.5", null)]
    [InlineData("gzip;q=1.001", null)]
    [InlineData("gzip;q=0.1234", null)]
    [InlineData("gzip;q=", null)]
    [InlineData("gzip;q=.5", null)]
    [InlineData("gzip;x=1", null)]
    [InlineData("g zip, br", "br")]
    [InlineData(",,, ,gzip,,", "gzip")]
    [InlineData("BR", "br")]
    [InlineData("zstd;q=0, zstd;q=0.5", "zstd")]
    [InlineData("identity;q=0", null)]
    [InlineData("identity;q=0, gzip;q=0.1", "gzip")]
    [InlineData("*;q=0.5, identity;q=0.6", null)]
    [InlineData("*;q=0.5, identity;q=0.5", "zstd")]
    public void Weights_then_preference(string header, string? expected) =>
        Assert.Equal(expected, AcceptEncoding.Choose(new StringValues(header))?.Name);

    [Fact]
    public void Several_header_lines_are_one_list() =>
        Assert.Equal("gzip", AcceptEncoding.Choose(new StringValues(["br;q=0", "gzip"]))?.Name);

    [Fact]
    public void No_header_means_no_coding() => Assert.Null(AcceptEncoding.Choose(StringValues.Empty));

    [Fact]
    public void A_huge_header_is_read_only_up_to_its_bound()
    {
        // What lies beyond the bound (here the only acceptable coding) is never looked at.
        var padding = string.Join(", ", Enumerable.Repeat("unknown;q=0.5", 100_000));
        Assert.Null(AcceptEncoding.Choose(new StringValues(padding + ", gzip")));
        Assert.Null(AcceptEncoding.Choose(new StringValues(new string(' ', AcceptEncoding.MaxChars) + "gzip")));
        Assert.Null(AcceptEncoding.Choose(new StringValues([.. Enumerable.Repeat("a", AcceptEncoding.MaxElements), "gzip"])));
        Assert.Equal("gzip", AcceptEncoding.Choose(new StringValues([.. Enumerable.Repeat("a", AcceptEncoding.MaxElements - 1), "gzip"]))?.Name);
    }

    [Fact]
    public void A_header_past_its_bounds_gets_no_coding_whatever_it_accepts_within_them()
    {
        Assert.Null(AcceptEncoding.Choose(new StringValues(["gzip", .. Enumerable.Repeat("a", AcceptEncoding.MaxElements)])));
        Assert.Null(AcceptEncoding.Choose(new StringValues("*, " + new string(' ', AcceptEncoding.MaxChars))));
        Assert.Equal("gzip", AcceptEncoding.Choose(new StringValues("gzip," + new string(' ', AcceptEncoding.MaxChars - 5)))?.Name);
    }
}
