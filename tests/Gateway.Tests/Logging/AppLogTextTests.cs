using System.Text;
using Gateway.Logging;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Logging;

/// <summary>Application log lines in text format: whatever a message holds, one line per message.</summary>
public sealed class AppLogTextTests
{
    [Fact]
    public async Task Control_and_format_characters_in_a_message_are_escaped_and_a_stack_trace_is_indented()
    {
        var output = new MemoryStream();
        var sink = new LogSink(output);
        var provider = GatewayLoggerProvider.For(new Gateway.Configuration.LoggingConfig { Format = "text" }, sink, TimeProvider.System);
        var logger = provider.CreateLogger("Gateway.Test");
#pragma warning disable CA1848, CA2254 // a message made of client input is what is tested
        logger.LogWarning("path /a\r\n2026-12-02T00:00:00.000Z error Gateway: forged\u001b[31m\u202Eevil\u2028");
        logger.LogError(new InvalidOperationException("bad\nline"), "failed");
#pragma warning restore CA1848, CA2254
        await sink.DisposeAsync();

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(@"path /a\r\n2026-12-02T00:00:00.000Z error Gateway: forged\u001b[31m\u202eevil\u2028", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("Gateway.Test: failed", lines[1], StringComparison.Ordinal);
        // Every further line is the exception's, indented: none starts like a log line.
        Assert.All(lines.Skip(2), line => Assert.StartsWith("    ", line, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("InvalidOperationException: bad", StringComparison.Ordinal));
    }
}
