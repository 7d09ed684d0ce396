using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Gateway.Logging;

/// <summary>Application logs as JSON lines (<c>ts, level, category, msg</c>) or plain text, into the shared sink.</summary>
internal sealed class GatewayLoggerProvider(LogSink sink, LogLevel minimum, bool json, TimeProvider time) : ILoggerProvider
{
    /// <summary>
    /// Lines are read by people and log tools, never embedded in HTML: '+', '&amp;', '&lt;' and apostrophes stay as
    /// they are (a version reads 0.1.0+3ce305b, not 0.1.0\u002B3ce305b); quotes, backslashes and control characters
    /// are still escaped, so a message can never break its line.
    /// </summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public LogSink Sink { get; } = sink;

    private LogLevel Minimum { get; } = minimum;

    private bool Json { get; } = json;

    private TimeProvider Time { get; } = time;

    public static GatewayLoggerProvider For(Configuration.LoggingConfig logging, LogSink sink, TimeProvider time) =>
        new(sink, ParseLevel(logging.Level), logging.Format == "json", time);

    /// <summary>A logger factory over this provider, for components built before the host (config compilation).</summary>
    public ILoggerFactory Factory() => LoggerFactory.Create(builder => builder.ClearProviders().AddProvider(this).SetMinimumLevel(LogLevel.Trace));

    public ILogger CreateLogger(string categoryName) => new GatewayLogger(this, categoryName);

    public void Dispose()
    {
    }

    internal static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };

    public static LogLevel ParseLevel(string level) => level switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "warn" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "critical" => LogLevel.Critical,
        "none" => LogLevel.None,
        _ => LogLevel.Information,
    };

    private sealed class GatewayLogger(GatewayLoggerProvider provider, string category) : ILogger
    {
        // Framework categories are chatty at info; they speak only at warning unless debugging. The host's
        // start-up failures (a port in use) are reported by the gateway itself, without a stack trace. The framework's
        // own lines per request ("Request starting ...", "Request finished ...", routing) say less than the access log
        // says of the same request: they keep only their warnings and errors, whatever the level.
        private readonly LogLevel _minimum =
            category.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal) ? LogLevel.Critical
            : IsPerRequest(category) ? (provider.Minimum > LogLevel.Warning ? provider.Minimum : LogLevel.Warning)
            : category.StartsWith("Microsoft.", StringComparison.Ordinal) || category.StartsWith("Yarp.", StringComparison.Ordinal)
                ? (provider.Minimum <= LogLevel.Debug ? provider.Minimum : LogLevel.Warning)
                : provider.Minimum;

        // Kestrel's bad-request lines quote the offending request line or header line as received, credentials and
        // all: they are per request too (the access log has the refusal, without the secret).
        private static bool IsPerRequest(string category) =>
            category.StartsWith("Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal)
            || category.StartsWith("Microsoft.AspNetCore.Routing", StringComparison.Ordinal)
            || category.StartsWith("Microsoft.AspNetCore.Server.Kestrel.BadRequests", StringComparison.Ordinal);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= _minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            var now = provider.Time.GetUtcNow();
            if (provider.Json)
            {
                var buffer = new ArrayBufferWriter<byte>(256);
                using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
                {
                    writer.WriteStartObject();
                    LogTime.Write(writer, "ts"u8, now);
                    writer.WriteString("level", LevelName(logLevel));
                    writer.WriteString("category", category);
                    writer.WriteString("msg", message);
                    if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
                    {
                        foreach (var (key, value) in fields)
                        {
                            if (key == "{OriginalFormat}")
                            {
                                continue;
                            }

                            switch (value)
                            {
                                case string stringValue:
                                    writer.WriteString(SnakeCase(key), stringValue);
                                    break;
                                case int or long or double:
                                    writer.WriteNumber(SnakeCase(key), Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                                    break;
                                case bool flag:
                                    writer.WriteBoolean(SnakeCase(key), flag);
                                    break;
                            }
                        }
                    }

                    if (exception is not null)
                    {
                        writer.WriteString("error", exception.GetType().Name + ": " + exception.Message);
                        writer.WriteString("stack", exception.ToString());
                    }

                    writer.WriteEndObject();
                }

                provider.Sink.WriteLine(buffer.WrittenSpan);
                return;
            }

            var text = new StringBuilder(128)
                .Append(now.UtcDateTime.ToString(LogTime.Format, System.Globalization.CultureInfo.InvariantCulture))
                .Append(' ').Append(LevelName(logLevel).PadRight(5))
                .Append(' ').Append(category).Append(": ");
            AppendSafe(text, message, continuation: false);
            if (exception is not null)
            {
                // The stack trace on the lines below, each indented: no line of it can pass for a log line of its own.
                text.Append('\n').Append("    ");
                AppendSafe(text, exception.ToString(), continuation: true);
            }

            provider.Sink.WriteLine(Encoding.UTF8.GetBytes(text.ToString()));
        }

        /// <summary>
        /// Appends text that may hold what a client sent: control characters (CR, LF, ESC, ...) and invisible format
        /// characters (bidi overrides) are written as escapes, so a message stays on its line and reads as it is.
        /// With <paramref name="continuation"/>, a line break starts an indented continuation line instead.
        /// </summary>
        internal static void AppendSafe(StringBuilder text, string value, bool continuation)
        {
            foreach (var c in value)
            {
                if (c == '\n' && continuation)
                {
                    text.Append('\n').Append("    ");
                }
                else if (c == '\r' && continuation)
                {
                    continue;
                }
                else if (c == '\n')
                {
                    text.Append("\\n");
                }
                else if (c == '\r')
                {
                    text.Append("\\r");
                }
                else if (char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format
                    or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
                {
                    text.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    text.Append(c);
                }
            }
        }

        private static string SnakeCase(string name) => Configuration.YamlBinder.SnakeCase(name);
    }
}
