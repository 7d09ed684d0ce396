using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Pipeline;

namespace Gateway.Logging;

/// <summary>
/// One line per request: a JSON object (the default), or with <c>logging.format: text</c> a key=value line that
/// starts like the application's text lines (<c>TS LEVEL access: request_id=... status=200 ...</c>). Both carry the
/// same fields. Query values are redacted; credentials (Authorization, Cookie, Set-Cookie, API keys) are never part
/// of the line at all. What the client chose (Host, User-Agent) is cut to <see cref="MaxClientValue"/> characters and
/// escaped, so that it can neither end the line nor add a field to it.
/// </summary>
/// <param name="text">Key=value lines instead of JSON (<c>logging.format</c>, which only changes with a restart).</param>
internal sealed class AccessLog(LogSink sink, TimeProvider time, bool text = false)
{
    /// <summary>The most characters of a header value the client chose that reach the log.</summary>
    public const int MaxClientValue = 256;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static readonly JsonEncodedText Ts = JsonEncodedText.Encode("ts");
    private static readonly JsonEncodedText Level = JsonEncodedText.Encode("level");
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Access = JsonEncodedText.Encode("access");
    private static readonly JsonEncodedText RequestId = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText TraceId = JsonEncodedText.Encode("trace_id");
    private static readonly JsonEncodedText ClientIp = JsonEncodedText.Encode("client_ip");
    private static readonly JsonEncodedText Method = JsonEncodedText.Encode("method");
    private static readonly JsonEncodedText Path = JsonEncodedText.Encode("path");
    private static readonly JsonEncodedText Route = JsonEncodedText.Encode("route");
    private static readonly JsonEncodedText BackendName = JsonEncodedText.Encode("backend");
    private static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText DurationMs = JsonEncodedText.Encode("duration_ms");
    private static readonly JsonEncodedText UpstreamMs = JsonEncodedText.Encode("upstream_ms");
    private static readonly JsonEncodedText BytesIn = JsonEncodedText.Encode("bytes_in");
    private static readonly JsonEncodedText BytesOut = JsonEncodedText.Encode("bytes_out");
    private static readonly JsonEncodedText User = JsonEncodedText.Encode("user");
    private static readonly JsonEncodedText Host = JsonEncodedText.Encode("host");
    private static readonly JsonEncodedText Protocol = JsonEncodedText.Encode("protocol");
    private static readonly JsonEncodedText UserAgent = JsonEncodedText.Encode("user_agent");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText Info = JsonEncodedText.Encode("info");
    private static readonly JsonEncodedText Warn = JsonEncodedText.Encode("warn");
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");

    /// <summary>Characters a text value may have without quotes: printable ASCII but space, quote, backslash and '='.</summary>
    private static readonly SearchValues<char> Bare = SearchValues.Create(
        "!#$%&'()*+,-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>Characters a quoted text value has as they are: printable ASCII but quote and backslash.</summary>
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    public void Write(Exchange exchange, LogRedaction redaction)
    {
        var logging = exchange.Config.Source.Logging;
        if (!logging.AccessLog)
        {
            return;
        }

        var client = exchange.Client;
        var status = client.Status;
        // Sampling thins successes only: every 4xx and 5xx, and every response cut short, keeps its line.
        if (status < 400 && !exchange.ResponseCut && logging.Sample is { SuccessRatio: < 1 } sample && Random.Shared.NextDouble() >= sample.SuccessRatio)
        {
            return;
        }

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var measures = new Measures(
            status,
            time.GetElapsedTime(exchange.StartTimestamp).Ticks / (TimeSpan.TicksPerMillisecond / 1000),
            exchange.UpstreamTicks > 0 ? (long)(exchange.UpstreamTicks * 1_000_000.0 / time.TimestampFrequency) : -1,
            exchange.RequestBytes ?? exchange.RequestContentLength ?? 0,
            exchange.ResponseBytes ?? (exchange.IsHead || status is 204 or 304 ? 0 : client.ResponseContentLength ?? 0));
        Span<char> ip = stackalloc char[64];
        var ipLength = exchange.ClientIp is { } address && address.TryFormat(ip, out var written) ? written : -1;
        ReadOnlySpan<char> clientIp = ipLength < 0 ? [] : ip[..ipLength];
        if (text)
        {
            WriteText(buffer, exchange, redaction, measures, clientIp, ipLength >= 0);
        }
        else
        {
            WriteJson(buffer, exchange, redaction, measures, clientIp, ipLength >= 0);
        }

        sink.WriteLine(buffer.WrittenSpan);
    }

    private void WriteJson(ArrayBufferWriter<byte> buffer, Exchange exchange, LogRedaction redaction, in Measures measures, ReadOnlySpan<char> clientIp, bool hasClientIp)
    {
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(buffer);
        var status = measures.Status;
        writer.WriteStartObject();
        LogTime.Write(writer, Ts.EncodedUtf8Bytes, time.GetUtcNow());
        writer.WriteString(Level, status >= 500 ? Error : status >= 400 ? Warn : Info);
        writer.WriteString(Type, Access);
        writer.WriteString(RequestId, exchange.RequestId);
        writer.WriteString(TraceId, exchange.Trace.TraceId);
        if (hasClientIp)
        {
            writer.WriteString(ClientIp, clientIp);
        }
        else
        {
            writer.WriteNull(ClientIp);
        }

        writer.WriteString(Method, exchange.Method);
        writer.WriteString(Path, LoggedPath(exchange, redaction));
        WriteNullable(writer, Route, exchange.Route?.Id);
        WriteNullable(writer, BackendName, exchange.Backend?.Name);
        writer.WriteNumber(Status, status);
        WriteMilliseconds(writer, DurationMs, measures.DurationMicros);
        if (measures.UpstreamMicros >= 0)
        {
            WriteMilliseconds(writer, UpstreamMs, measures.UpstreamMicros);
        }
        else
        {
            writer.WriteNull(UpstreamMs);
        }

        writer.WriteNumber(BytesIn, measures.BytesIn);
        writer.WriteNumber(BytesOut, measures.BytesOut);
        WriteNullable(writer, User, exchange.User);
        WriteClientValue(writer, Host, HostOf(exchange, redaction));
        writer.WriteString(Protocol, exchange.Protocol);
        WriteClientValue(writer, UserAgent, UserAgentOf(exchange, redaction));
        WriteNullable(writer, Reason, exchange.Reason);
        writer.WriteEndObject();
        writer.Flush();
    }

    private void WriteText(ArrayBufferWriter<byte> buffer, Exchange exchange, LogRedaction redaction, in Measures measures, ReadOnlySpan<char> clientIp, bool hasClientIp)
    {
        LogTime.Format24(time.GetUtcNow().UtcDateTime, buffer.GetSpan(LogTime.Length));
        buffer.Advance(LogTime.Length);
        // The level padded to five, as the application's text lines have it.
        var status = measures.Status;
        buffer.Write(status >= 500 ? " error access:"u8 : status >= 400 ? " warn  access:"u8 : " info  access:"u8);
        TextField(buffer, " request_id="u8, exchange.RequestId);
        TextField(buffer, " trace_id="u8, exchange.Trace.TraceId);
        if (hasClientIp)
        {
            TextField(buffer, " client_ip="u8, clientIp);
        }
        else
        {
            TextNull(buffer, " client_ip="u8);
        }

        TextField(buffer, " method="u8, exchange.Method);
        TextField(buffer, " path="u8, LoggedPath(exchange, redaction));
        TextField(buffer, " route="u8, exchange.Route?.Id);
        TextField(buffer, " backend="u8, exchange.Backend?.Name);
        TextNumber(buffer, " status="u8, status);
        TextMilliseconds(buffer, " duration_ms="u8, measures.DurationMicros);
        if (measures.UpstreamMicros >= 0)
        {
            TextMilliseconds(buffer, " upstream_ms="u8, measures.UpstreamMicros);
        }
        else
        {
            TextNull(buffer, " upstream_ms="u8);
        }

        TextNumber(buffer, " bytes_in="u8, measures.BytesIn);
        TextNumber(buffer, " bytes_out="u8, measures.BytesOut);
        TextField(buffer, " user="u8, exchange.User);
        TextClientValue(buffer, " host="u8, HostOf(exchange, redaction));
        TextField(buffer, " protocol="u8, exchange.Protocol);
        TextClientValue(buffer, " user_agent="u8, UserAgentOf(exchange, redaction));
        TextField(buffer, " reason="u8, exchange.Reason);
    }

    /// <summary>The <c>Host</c> header (HTTP/2's <c>:authority</c>) as sent, or null when there was none.</summary>
    private static string? HostOf(Exchange exchange, LogRedaction redaction) =>
        exchange.Authority is not { Length: > 0 } host ? null : redaction.HidesHost ? LogRedaction.Mask : host;

    private static string? UserAgentOf(Exchange exchange, LogRedaction redaction)
    {
        if (redaction.HidesUserAgent)
        {
            return exchange.RequestHeaders.UserAgent.Count == 0 ? null : LogRedaction.Mask;
        }

        var values = exchange.RequestHeaders.UserAgent;
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            // Rare enough to be joined (and allocated) on demand; none of them may hide.
            _ => values.ToString(),
        };
    }

    /// <summary>At most <see cref="MaxClientValue"/> characters, never cutting a surrogate pair in two.</summary>
    private static ReadOnlySpan<char> Bounded(string value)
    {
        if (value.Length <= MaxClientValue)
        {
            return value;
        }

        var cut = char.IsHighSurrogate(value[MaxClientValue - 1]) ? MaxClientValue - 1 : MaxClientValue;
        return value.AsSpan(0, cut);
    }

    private static string LoggedPath(Exchange exchange, LogRedaction redaction) =>
        exchange.Query.Length <= 1 ? exchange.Path : exchange.Path + RedactQuery(exchange.Query, redaction.Query);

    /// <summary>Microseconds as milliseconds with up to three decimals (<c>12.345</c>, <c>0.5</c>, <c>3</c>), without floating-point formatting.</summary>
    private static void WriteMilliseconds(Utf8JsonWriter writer, JsonEncodedText name, long microseconds)
    {
        Span<byte> text = stackalloc byte[24];
        var length = FormatMilliseconds(text, microseconds);
        writer.WritePropertyName(name);
        writer.WriteRawValue(text[..length], skipInputValidation: true);
    }

    private static int FormatMilliseconds(Span<byte> text, long microseconds)
    {
        var whole = Math.Max(0, microseconds) / 1000;
        var fraction = (int)(Math.Max(0, microseconds) % 1000);
        whole.TryFormat(text, out var length, default, CultureInfo.InvariantCulture);
        if (fraction > 0)
        {
            text[length++] = (byte)'.';
            for (var divisor = 100; fraction > 0; divisor /= 10)
            {
                text[length++] = (byte)('0' + (fraction / divisor));
                fraction %= divisor;
            }
        }

        return length;
    }

    private static void WriteNullable(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteClientValue(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, Bounded(value));
        }
    }

    private static void TextNull(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> key)
    {
        buffer.Write(key);
        buffer.Write("-"u8);
    }

    private static void TextNumber(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> key, long value)
    {
        buffer.Write(key);
        value.TryFormat(buffer.GetSpan(20), out var length, default, CultureInfo.InvariantCulture);
        buffer.Advance(length);
    }

    private static void TextMilliseconds(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> key, long microseconds)
    {
        buffer.Write(key);
        buffer.Advance(FormatMilliseconds(buffer.GetSpan(24), microseconds));
    }

    private static void TextField(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> key, string? value)
    {
        if (value is null)
        {
            TextNull(buffer, key);
        }
        else
        {
            TextField(buffer, key, value.AsSpan());
        }
    }

    private static void TextClientValue(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> key, string? value)
    {
        if (value is null)
        {
            TextNull(buffer, key);
        }
        else
        {
            TextField(buffer, key, Bounded(value));
        }
    }

    /// <summary>
    /// One <c>key=value</c>. A value of plain printable ASCII goes as it is; anything else (empty, <c>-</c>, spaces,
    /// quotes, '=', control or non-ASCII characters) goes in double quotes with <c>\"</c>, <c>\\</c>, <c>\r</c>,
    /// <c>\n</c>, <c>\t</c> and <c>\uXXXX</c> escapes, as JSON writes them: the line stays one line of ASCII, and a
    /// value can never look like another field.
    /// </summary>
    private static void TextField(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> key, ReadOnlySpan<char> value)
    {
        buffer.Write(key);
        if (value.Length > 0 && value.IndexOfAnyExcept(Bare) < 0 && value is not "-")
        {
            Ascii(buffer, value);
            return;
        }

        buffer.Write("\""u8);
        var rest = value;
        while (rest.Length > 0)
        {
            var special = rest.IndexOfAnyExcept(Plain);
            if (special < 0)
            {
                Ascii(buffer, rest);
                break;
            }

            Ascii(buffer, rest[..special]);
            Escape(buffer, rest[special]);
            rest = rest[(special + 1)..];
        }

        buffer.Write("\""u8);
    }

    private static void Ascii(ArrayBufferWriter<byte> buffer, ReadOnlySpan<char> ascii)
    {
        if (ascii.Length > 0)
        {
            buffer.Advance(Encoding.ASCII.GetBytes(ascii, buffer.GetSpan(ascii.Length)));
        }
    }

    private static void Escape(ArrayBufferWriter<byte> buffer, char c)
    {
        switch (c)
        {
            case '"':
                buffer.Write("\\\""u8);
                return;
            case '\\':
                buffer.Write("\\\\"u8);
                return;
            case '\r':
                buffer.Write("\\r"u8);
                return;
            case '\n':
                buffer.Write("\\n"u8);
                return;
            case '\t':
                buffer.Write("\\t"u8);
                return;
        }

        var into = buffer.GetSpan(6);
        into[0] = (byte)'\\';
        into[1] = (byte)'u';
        ((int)c).TryFormat(into[2..], out _, "x4", CultureInfo.InvariantCulture);
        buffer.Advance(6);
    }

    /// <summary>
    /// <c>?a=1&amp;b</c> becomes <c>?a=***&amp;b</c>: names stay, values never reach the log. A parameter named in
    /// <paramref name="dropped"/> (as sent, or percent-decoded) is left out whole; when nothing is left, so is the '?'.
    /// </summary>
    internal static string RedactQuery(string query, IReadOnlySet<string> dropped)
    {
        var parts = query[1..].Split('&');
        var kept = new List<string>(parts.Length);
        foreach (var part in parts)
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals >= 0 ? part[..equals] : part;
            if (dropped.Count > 0 && (dropped.Contains(name) || dropped.Contains(Uri.UnescapeDataString(name.Replace('+', ' ')))))
            {
                continue;
            }

            kept.Add(equals >= 0 ? part[..(equals + 1)] + LogRedaction.Mask : part);
        }

        return kept.Count == 0 ? "" : "?" + string.Join('&', kept);
    }

    /// <summary>The numbers of one line, taken once for either format.</summary>
    /// <param name="UpstreamMicros">Time spent on backends, or -1 when none was called.</param>
    private readonly record struct Measures(int Status, long DurationMicros, long UpstreamMicros, long BytesIn, long BytesOut);
}
