using System.Diagnostics;
using Microsoft.Extensions.Primitives;

namespace Gateway.Pipeline;

/// <summary>
/// W3C trace context for one request: the trace id is kept from a valid incoming <c>traceparent</c> (or
/// made new), and the gateway's hop gets a span id of its own, sent upstream as the parent.
/// </summary>
internal readonly struct TraceContext(string traceId, string spanId, string flags, bool continued)
{
    public string TraceId { get; } = traceId;

    public string SpanId { get; } = spanId;

    public string Flags { get; } = flags;

    /// <summary>True when the client sent a valid traceparent that this trace continues.</summary>
    public bool Continued { get; } = continued;

    /// <summary>The traceparent to send to the backend.</summary>
    public string TraceParent => $"00-{TraceId}-{SpanId}-{Flags}";

    public static TraceContext From(StringValues incoming)
    {
        var span = ActivitySpanId.CreateRandom().ToHexString();
        if (incoming.Count == 1 && TryParse(incoming[0], out var traceId, out var flags))
        {
            return new TraceContext(traceId, span, flags, continued: true);
        }

        return new TraceContext(ActivityTraceId.CreateRandom().ToHexString(), span, "00", continued: false);
    }

    /// <summary>Parses version 00 of traceparent: <c>00-{32 hex}-{16 hex}-{2 hex}</c>, ids not all zero.</summary>
    internal static bool TryParse(string? value, out string traceId, out string flags)
    {
        traceId = "";
        flags = "";
        if (value is null || value.Length != 55 || value[2] != '-' || value[35] != '-' || value[52] != '-' || !value.StartsWith("00", StringComparison.Ordinal))
        {
            return false;
        }

        var trace = value.AsSpan(3, 32);
        var parent = value.AsSpan(36, 16);
        var flagText = value.AsSpan(53, 2);
        if (!IsLowerHex(trace) || !IsLowerHex(parent) || !IsLowerHex(flagText) || !trace.ContainsAnyExcept('0') || !parent.ContainsAnyExcept('0'))
        {
            return false;
        }

        traceId = trace.ToString();
        flags = flagText.ToString();
        return true;
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
