using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Logging;

/// <summary>Reads access-log lines back: JSON objects, or the key=value lines of <c>logging.format: text</c>.</summary>
internal static class AccessLines
{
    /// <summary>Every field of an access line, in the order the line has them (the first 16 are SPEC section 5's and <c>type</c>).</summary>
    public static readonly string[] JsonFields =
    [
        "ts", "level", "type", "request_id", "trace_id", "client_ip", "method", "path", "route", "backend", "status",
        "duration_ms", "upstream_ms", "bytes_in", "bytes_out", "user", "host", "protocol", "user_agent", "reason",
    ];

    /// <summary>The key=value fields of a text line (its time and level come first, unnamed, as on every text line).</summary>
    public static readonly string[] TextFields = JsonFields[3..];

    public static bool IsJsonAccess(string line) => line.Contains("\"type\":\"access\"", StringComparison.Ordinal);

    /// <summary>A text line of the access log: <c>TS LEVEL access: ...</c>, the level padded to five characters.</summary>
    public static bool IsTextAccess(string line) => line.Length > 38 && string.CompareOrdinal(line, 30, " access: ", 0, 9) == 0;

    /// <summary>The JSON access lines once at least <paramref name="count"/> have been written, parsed.</summary>
    public static async Task<JsonElement[]> JsonAsync(TestGateway gateway, int count)
    {
        var lines = await gateway.LogLinesAsync(l => l.Count(IsJsonAccess) >= count);
        return [.. lines.Where(IsJsonAccess).Select(l =>
        {
            using var document = JsonDocument.Parse(l);
            return document.RootElement.Clone();
        })];
    }

    /// <summary>The JSON access line of the request that got this <c>X-Request-Id</c>.</summary>
    public static async Task<JsonElement> JsonForAsync(TestGateway gateway, string requestId)
    {
        var lines = await gateway.LogLinesAsync(l => l.Any(x => IsJsonAccess(x) && x.Contains(requestId, StringComparison.Ordinal)));
        var line = Assert.Single(lines, l => IsJsonAccess(l) && l.Contains(requestId, StringComparison.Ordinal));
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    public static async Task<JsonElement> JsonForAsync(TestGateway gateway, HttpResponseMessage response) =>
        await JsonForAsync(gateway, response.Headers.GetValues("X-Request-Id").Single());

    /// <summary>The text access lines once at least <paramref name="count"/> have been written, parsed.</summary>
    public static async Task<TextLine[]> TextAsync(TestGateway gateway, int count)
    {
        var lines = await gateway.LogLinesAsync(l => l.Count(IsTextAccess) >= count);
        return [.. lines.Where(IsTextAccess).Select(ParseText)];
    }

    /// <summary>
    /// Parses <c>TS LEVEL access: key=value ...</c> strictly: every key once, in order; a value bare (no space, quote,
    /// backslash or '=') or quoted with JSON's escapes; <c>-</c> is null. Anything else fails the test.
    /// </summary>
    public static TextLine ParseText(string line)
    {
        Assert.True(DateTime.TryParseExact(line[..24], "yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out _), line);
        var level = line.Substring(25, 5).TrimEnd();
        const string Marker = " access:";
        Assert.Equal(Marker, line.Substring(30, Marker.Length));
        var fields = new List<KeyValuePair<string, string?>>();
        var at = 30 + Marker.Length;
        while (at < line.Length)
        {
            Assert.Equal(' ', line[at]);
            var equals = line.IndexOf('=', at);
            Assert.True(equals > at + 1, line);
            var key = line[(at + 1)..equals];
            at = equals + 1;
            string? value;
            if (at < line.Length && line[at] == '"')
            {
                var text = new StringBuilder();
                at++;
                while (line[at] != '"')
                {
                    if (line[at] != '\\')
                    {
                        Assert.InRange(line[at], ' ', '~');
                        text.Append(line[at++]);
                        continue;
                    }

                    var escaped = line[at + 1];
                    at += 2;
                    switch (escaped)
                    {
                        case '"' or '\\':
                            text.Append(escaped);
                            break;
                        case 'r':
                            text.Append('\r');
                            break;
                        case 'n':
                            text.Append('\n');
                            break;
                        case 't':
                            text.Append('\t');
                            break;
                        case 'u':
                            text.Append((char)int.Parse(line.AsSpan(at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                            at += 4;
                            break;
                        default:
                            Assert.Fail($"unknown escape \\{escaped} in {line}");
                            break;
                    }
                }

                at++;
                value = text.ToString();
            }
            else
            {
                var end = line.IndexOf(' ', at);
                end = end < 0 ? line.Length : end;
                value = line[at..end];
                Assert.DoesNotContain('"', value);
                Assert.DoesNotContain('\\', value);
                Assert.DoesNotContain('=', value);
                Assert.NotEqual("", value);
                at = end;
                value = value == "-" ? null : value;
            }

            fields.Add(new(key, value));
        }

        Assert.Equal(TextFields, fields.Select(f => f.Key));
        return new TextLine(level, fields.ToDictionary());
    }

    /// <summary>One parsed text access line.</summary>
    public sealed record TextLine(string Level, Dictionary<string, string?> Fields)
    {
        public string? this[string key] => Fields[key];
    }
}
