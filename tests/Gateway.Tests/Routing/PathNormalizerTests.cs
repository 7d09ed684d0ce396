using System.Text;
using CsCheck;
using Gateway.Routing;

namespace Gateway.Tests.Routing;

public sealed class PathNormalizerTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("/a/b", "/a/b")]
    [InlineData("/a/./b", "/a/b")]
    [InlineData("/a/../b", "/b")]
    [InlineData("/../../etc/passwd", "/etc/passwd")]
    [InlineData("/a/%2e%2e/b", "/b")]
    [InlineData("/a/%2E%2e/%2E/b", "/b")]
    [InlineData("/a//b///c", "/a/b/c")]
    [InlineData("/a/b/", "/a/b/")]
    [InlineData("/a/b/..", "/a/")]
    [InlineData("/a/b/.", "/a/b/")]
    [InlineData("/%61%62c", "/abc")]
    [InlineData("/a%7eb", "/a~b")]
    [InlineData("/a%20b", "/a%20b")]
    [InlineData("/a%c3%a9", "/a%C3%A9")]
    [InlineData("/a/{x}", "/a/%7Bx%7D")]
    [InlineData("/.hidden", "/.hidden")]
    [InlineData("/a..b", "/a..b")]
    public void Normalizes(string raw, string expected)
    {
        var target = PathNormalizer.NormalizeTarget(raw);
        Assert.True(target.IsValid, target.Error.ToString());
        Assert.Equal(expected, target.Path);
    }

    [Theory]
    [InlineData("/a/%2F/b", true)]
    [InlineData("/a%2fb", true)]
    [InlineData("/a%5Cb", true)]
    [InlineData("/a/b", false)]
    public void Flags_encoded_slashes(string raw, bool flagged)
    {
        var target = PathNormalizer.NormalizeTarget(raw);
        Assert.True(target.IsValid);
        Assert.Equal(flagged, target.HasEncodedSlash);
    }

    [Theory]
    [InlineData("/a%00b", "EncodedNul")]
    [InlineData("/a/..;x/b", "DotSegmentWithParameters")]
    [InlineData("/a/.;/b", "DotSegmentWithParameters")]
    [InlineData("/a/%2e%2e;x/b", "DotSegmentWithParameters")]
    [InlineData("/a%zzb", "InvalidPercentEncoding")]
    [InlineData("/a%4", "InvalidPercentEncoding")]
    [InlineData("/a\\b", "InvalidCharacter")]
    [InlineData("/a b", "InvalidCharacter")]
    [InlineData("*", "UnsupportedTarget")]
    [InlineData("example.com:443", "UnsupportedTarget")]
    public void Refuses(string raw, string error)
    {
        Assert.Equal(Enum.Parse<PathError>(error), PathNormalizer.NormalizeTarget(raw).Error);
    }

    [Fact]
    public void Splits_query_and_absolute_form()
    {
        var target = PathNormalizer.NormalizeTarget("/a/../b?x=1&y=%2F");
        Assert.Equal("/b", target.Path);
        Assert.Equal("?x=1&y=%2F", target.Query);

        var absolute = PathNormalizer.NormalizeTarget("http://example.com/a/./b?q");
        Assert.Equal("/a/b", absolute.Path);
        Assert.Equal("?q", absolute.Query);
        Assert.Equal("/", PathNormalizer.NormalizeTarget("http://example.com").Path);
    }

    [Fact]
    public void Already_normal_paths_are_returned_without_copying()
    {
        const string raw = "/api/users/42";
        Assert.Same(raw, PathNormalizer.NormalizeTarget(raw).Path);
    }

    private static readonly Gen<string> Segment = Gen.OneOfConst(
        "", ".", "..", "%2e", "%2E%2e", ".%2E", "a", "b", "admin", "%61dmin", "%41", "x%20y", "~", "%7E", "%2F", "%5c", "..;", "c.d", "%zz", "%", "é");

    private static readonly Gen<string> RawPath = Segment.Array[0, 8].Select(parts => "/" + string.Join('/', parts));

    [Fact]
    public void Normalizing_is_idempotent_and_yields_clean_paths()
    {
        RawPath.Sample(raw =>
        {
            var target = PathNormalizer.NormalizeTarget(raw);
            if (!target.IsValid)
            {
                return;
            }

            var path = target.Path;
            Assert.StartsWith("/", path, StringComparison.Ordinal);
            Assert.DoesNotContain("//", path, StringComparison.Ordinal);
            Assert.DoesNotContain("/./", path + "/", StringComparison.Ordinal);
            Assert.DoesNotContain("/../", path + "/", StringComparison.Ordinal);
            Assert.DoesNotContain("%2E", path, StringComparison.OrdinalIgnoreCase);
            var again = PathNormalizer.NormalizeTarget(path);
            Assert.True(again.IsValid);
            Assert.Equal(path, again.Path);
        }, iter: 20_000);
    }

    /// <summary>
    /// What the gateway matched is what a backend that decodes everything would read: the path a naive
    /// server derives from the raw input (decode all, then resolve dots) equals the gateway's normalized
    /// path, decoded. So no input can match one route here and mean another path behind it.
    /// </summary>
    [Fact]
    public void Backend_reading_equals_the_matched_path()
    {
        RawPath.Sample(raw =>
        {
            var target = PathNormalizer.NormalizeTarget(raw);
            if (!target.IsValid || target.HasEncodedSlash)
            {
                return;
            }

            Assert.Equal(NaiveBackendPath(raw), Uri.UnescapeDataString(target.Path));
        }, iter: 20_000);
    }

    private static string NaiveBackendPath(string raw)
    {
        var decoded = Uri.UnescapeDataString(raw).Replace('\\', '/');
        var output = new List<string>();
        var parts = decoded.Split('/');
        var trailing = false;
        for (var i = 1; i < parts.Length; i++)
        {
            var part = parts[i];
            var last = i == parts.Length - 1;
            trailing = false;
            if (part.Length == 0)
            {
                trailing = last;
                continue;
            }

            if (part == ".")
            {
                trailing = true;
                continue;
            }

            if (part == "..")
            {
                if (output.Count > 0)
                {
                    output.RemoveAt(output.Count - 1);
                }

                trailing = true;
                continue;
            }

            output.Add(part);
        }

        var builder = new StringBuilder();
        foreach (var part in output)
        {
            builder.Append('/').Append(part);
        }

        if (trailing || builder.Length == 0)
        {
            builder.Append('/');
        }

        return builder.ToString();
    }
}
