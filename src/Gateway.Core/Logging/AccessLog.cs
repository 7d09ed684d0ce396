using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Gateway.Pipeline;

namespace Gateway.Logging;

/// <summary>
/// One JSON line per request. Query values are redacted; credentials (Authorization, Cookie,
/// Set-Cookie, API keys) are never part of the line at all.
/// </summary>
internal sealed class AccessLog(LogSink sink, TimeProvider time)
{
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
    private static readonly JsonEncodedText Info = JsonEncodedText.Encode("info");
    private static readonly JsonEncodedText Warn = JsonEncodedText.Encode("warn");
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");

    public void Write(Exchange exchange)
    {
        var logging = exchange.Config.Source.Logging;
        if (!logging.AccessLog)
        {
            return;
        }

        var client = exchange.Client;
        var status = client.Status;
        if (status < 400 && logging.Sample is { SuccessRatio: < 1 } sample && Random.Shared.NextDouble() >= sample.SuccessRatio)
        {
            return;
        }

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(buffer);

        var elapsed = time.GetElapsedTime(exchange.StartTimestamp);
        writer.WriteStartObject();
        LogTime.Write(writer, Ts.EncodedUtf8Bytes, time.GetUtcNow());
        writer.WriteString(Level, status >= 500 ? Error : status >= 400 ? Warn : Info);
        writer.WriteString(Type, Access);
        writer.WriteString(RequestId, exchange.RequestId);
        writer.WriteString(TraceId, exchange.Trace.TraceId);
        if (exchange.ClientIp is { } ip)
        {
            writer.WriteString(ClientIp, ip.ToString());
        }
        else
        {
            writer.WriteNull(ClientIp);
        }

        writer.WriteString(Method, exchange.Method);
        WritePath(writer, exchange);
        WriteNullable(writer, Route, exchange.Route?.Id);
        WriteNullable(writer, BackendName, exchange.Backend?.Name);
        writer.WriteNumber(Status, status);
        WriteMilliseconds(writer, DurationMs, elapsed.Ticks / (TimeSpan.TicksPerMillisecond / 1000));
        if (exchange.UpstreamTicks > 0)
        {
            WriteMilliseconds(writer, UpstreamMs, (long)(exchange.UpstreamTicks * 1_000_000.0 / time.TimestampFrequency));
        }
        else
        {
            writer.WriteNull(UpstreamMs);
        }

        writer.WriteNumber(BytesIn, exchange.RequestBytes ?? exchange.RequestContentLength ?? 0);
        writer.WriteNumber(BytesOut, exchange.ResponseBytes
            ?? (exchange.IsHead || status is 204 or 304 ? 0 : client.ResponseContentLength ?? 0));
        WriteNullable(writer, User, exchange.User);
        writer.WriteEndObject();
        writer.Flush();
        sink.WriteLine(buffer.WrittenSpan);
    }

    /// <summary>Microseconds as milliseconds with up to three decimals (<c>12.345</c>, <c>0.5</c>, <c>3</c>), without floating-point formatting.</summary>
    private static void WriteMilliseconds(Utf8JsonWriter writer, JsonEncodedText name, long microseconds)
    {
        Span<byte> text = stackalloc byte[24];
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

        writer.WritePropertyName(name);
        writer.WriteRawValue(text[..length], skipInputValidation: true);
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

    private static void WritePath(Utf8JsonWriter writer, Exchange exchange)
    {
        if (exchange.Query.Length <= 1)
        {
            writer.WriteString(Path, exchange.Path);
            return;
        }

        writer.WriteString(Path, exchange.Path + RedactQuery(exchange.Query));
    }

    /// <summary><c>?a=1&amp;b</c> becomes <c>?a=***&amp;b</c>: names stay, values never reach the log.</summary>
    internal static string RedactQuery(string query)
    {
        var parts = query[1..].Split('&');
        for (var i = 0; i < parts.Length; i++)
        {
            var equals = parts[i].IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                parts[i] = parts[i][..(equals + 1)] + "***";
            }
        }

        return "?" + string.Join('&', parts);
    }
}
