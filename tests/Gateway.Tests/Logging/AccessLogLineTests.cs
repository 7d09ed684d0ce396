using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Forwarding;
using Gateway.Logging;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.Logging;

/// <summary>
/// Access lines written straight from an exchange, without a codec in front: here a header value can hold anything
/// (CR, LF, NUL, U+2028, a cut surrogate pair), which no codec lets through, and the line must still be one line with
/// exactly its own fields.
/// </summary>
public sealed class AccessLogLineTests
{
    private const string Config = """
        routes:
          - {id: hello, path: /hello, mock: {status: 200, body: "hi"}}
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Hostile_user_agent_and_host_stay_inside_their_field(bool text)
    {
        var hostile = "a\r\nb\"c\\d\te\u2028f\u0001g=h \" reason=forged status=999 {\"type\":\"access\",\"status\":999}\n" + new string('z', 400);
        var host = "evil.example\r\n{\"status\":999}";
        var output = await WriteAsync(text, new HeaderDictionary { ["User-Agent"] = hostile, ["Host"] = host });

        Assert.EndsWith("\n", output, StringComparison.Ordinal);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.All(line, c => Assert.InRange(c, ' ', '~'));
        var (userAgent, loggedHost, status, reason) = Fields(line, text);
        Assert.Equal(hostile[..AccessLog.MaxClientValue], userAgent);
        Assert.Equal(host, loggedHost);
        // The control characters in the header make it a request the gateway refuses: its own answer, its own reason.
        Assert.Equal("400", status);
        Assert.Equal("bad_request:header_value", reason);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_long_value_is_never_cut_inside_a_surrogate_pair(bool text)
    {
        var userAgent = new string('a', AccessLog.MaxClientValue - 1) + "\U0001F600" + "tail";
        var line = (await WriteAsync(text, new HeaderDictionary { ["User-Agent"] = userAgent })).TrimEnd('\n');
        Assert.Equal(new string('a', AccessLog.MaxClientValue - 1), Fields(line, text).UserAgent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Non_ascii_user_agent_is_kept_escaped(bool text)
    {
        const string userAgent = "Bücher-Client/1.0 (日本)";
        var line = (await WriteAsync(text, new HeaderDictionary { ["User-Agent"] = userAgent })).TrimEnd('\n');
        Assert.All(line, c => Assert.InRange(c, ' ', '~'));
        Assert.Equal(userAgent, Fields(line, text).UserAgent);
    }

    [Fact]
    public async Task Text_tells_a_dash_and_an_empty_value_from_a_missing_one()
    {
        var dash = AccessLines.ParseText((await WriteAsync(true, new HeaderDictionary { ["User-Agent"] = "-" })).TrimEnd('\n'));
        Assert.Equal("-", dash["user_agent"]);
        var empty = AccessLines.ParseText((await WriteAsync(true, new HeaderDictionary { ["User-Agent"] = "" })).TrimEnd('\n'));
        Assert.Equal("", empty["user_agent"]);
        var none = (await WriteAsync(true, new HeaderDictionary())).TrimEnd('\n');
        Assert.Contains(" user_agent=- ", none, StringComparison.Ordinal);
        Assert.Null(AccessLines.ParseText(none)["user_agent"]);
        Assert.Null(AccessLines.ParseText(none)["host"]);
    }

    [Fact]
    public async Task User_agent_sent_twice_is_logged_whole()
    {
        var headers = new HeaderDictionary { ["User-Agent"] = new Microsoft.Extensions.Primitives.StringValues(["first/1", "second/2"]) };
        Assert.Equal("first/1,second/2", Fields((await WriteAsync(false, headers)).TrimEnd('\n'), false).UserAgent);
    }

    [Fact]
    public void A_connection_that_cannot_be_made_says_whether_it_was_refused_or_timed_out()
    {
        static HttpRequestException Connect(Exception inner) => new(HttpRequestError.ConnectionError, "connecting failed", inner);

        Assert.Equal(AnswerReasons.UpstreamConnectRefused, UpstreamCall.ReasonOf(UpstreamFailure.ConnectFailed, Connect(new SocketException((int)SocketError.ConnectionRefused))));
        // HttpClient wraps the connect callback's own exception once more.
        Assert.Equal(AnswerReasons.UpstreamConnectRefused,
            UpstreamCall.ReasonOf(UpstreamFailure.ConnectFailed, Connect(Connect(new SocketException((int)SocketError.ConnectionRefused)))));
        Assert.Equal(AnswerReasons.UpstreamConnectTimeout, UpstreamCall.ReasonOf(UpstreamFailure.ConnectFailed, Connect(new TimeoutException())));
        Assert.Equal(AnswerReasons.UpstreamConnectFailed, UpstreamCall.ReasonOf(UpstreamFailure.ConnectFailed, Connect(new SocketException((int)SocketError.HostNotFound))));
        Assert.Equal(AnswerReasons.UpstreamConnectFailed, UpstreamCall.ReasonOf(UpstreamFailure.ConnectFailed, null));
        Assert.Equal(AnswerReasons.UpstreamBadResponse, UpstreamCall.ReasonOf(UpstreamFailure.InvalidResponse, null));
        Assert.Equal(AnswerReasons.UpstreamReset, UpstreamCall.ReasonOf(UpstreamFailure.Reset, new IOException("reset")));
    }

    [Fact]
    public void Every_reason_code_is_short_stable_snake_case()
    {
        var codes = typeof(AnswerReasons).GetFields().Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
        codes.Add(AnswerReasons.Auth("expired"));
        Assert.Equal(codes.Count, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(codes, code => Assert.Matches("^[a-z0-9_]+(:[a-z0-9_]+)?$", code));
        Assert.Same(AnswerReasons.Auth("expired"), AnswerReasons.Auth("expired"));
    }

    private static (string? UserAgent, string? Host, string? Status, string? Reason) Fields(string line, bool text)
    {
        if (text)
        {
            var parsed = AccessLines.ParseText(line);
            return (parsed["user_agent"], parsed["host"], parsed["status"], parsed["reason"]);
        }

        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal(AccessLines.JsonFields, root.EnumerateObject().Select(p => p.Name));
        return (root.GetProperty("user_agent").GetString(), root.GetProperty("host").GetString(),
            root.GetProperty("status").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), root.GetProperty("reason").GetString());
    }

    /// <summary>Runs one request through the stages (a mock route) and returns what the access log wrote for it.</summary>
    private static async Task<string> WriteAsync(bool text, IHeaderDictionary headers)
    {
        var loaded = ConfigLoader.LoadText(Config, "t.yaml", ".", _ => null);
        var config = ConfigCompiler.Compile(loaded.Config!, 1, DateTimeOffset.UnixEpoch);
        var exchange = new Exchange(new OfflineChannel(), config, TimeProvider.System, HttpMethods.Get, "/hello", headers) { Peer = IPAddress.Loopback };
        await new StageRunner(NullLogger.Instance).RunAsync(exchange);
        var output = new MemoryStream();
        var sink = new LogSink(output);
        new AccessLog(sink, TimeProvider.System, text).Write(exchange, Gateway.Logging.LogRedaction.Default);
        await sink.DisposeAsync();
        return Encoding.UTF8.GetString(output.ToArray());
    }
}
