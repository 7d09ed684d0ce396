using System.Diagnostics;
using Microsoft.Extensions.Primitives;

namespace Gateway.Pipeline;

/// <summary>
/// W3C trace context for one request: the trace id is kept from a valid incoming <c>traceparent</c> (or
/// made new), and the gateway's hop gets a span id of its own, sent upstream as the parent.
/// </summary>
internal readonly struct TraceContext
{
    private TraceContext(string traceParent, bool continued)
    {
        TraceParent = traceParent;
        Continued = continued;
    }

    /// <summary>The traceparent to send to the backend (<c>00-{trace id}-{the gateway's span id}-{flags}</c>): one string per request.</summary>
    public string TraceParent { get; }

    /// <summary>True when the client sent a valid traceparent that this trace continues (its tracestate then goes on too).</summary>
    public bool Continued { get; }

    /// <summary>The 32 hex digits of the trace id, without a string of their own.</summary>
    public ReadOnlySpan<char> TraceId => TraceParent is null ? default : TraceParent.AsSpan(3, 32);

    /// <summary>The 16 hex digits of the gateway's span id.</summary>
    public ReadOnlySpan<char> SpanId => TraceParent is null ? default : TraceParent.AsSpan(36, 16);

    public static TraceContext From(StringValues incoming)
    {
        var continued = incoming.Count == 1 && TryParse(incoming[0], out _, out _);
        var parent = string.Create(55, continued ? incoming[0] : null, static (text, incoming) =>
        {
            "00-".CopyTo(text);
            text[35] = '-';
            text[52] = '-';
            Span<byte> random = stackalloc byte[16];
            if (incoming is null)
            {
                ActivityTraceId.CreateRandom().CopyTo(random);
                Convert.TryToHexStringLower(random, text.Slice(3, 32), out _);
                "00".CopyTo(text[53..]);
            }
            else
            {
                incoming.AsSpan(3, 32).CopyTo(text[3..]);
                incoming.AsSpan(53, 2).CopyTo(text[53..]);
            }

            ActivitySpanId.CreateRandom().CopyTo(random[..8]);
            Convert.TryToHexStringLower(random[..8], text.Slice(36, 16), out _);
        });
        return new TraceContext(parent, continued);
    }

    /// <summary>The traceparent that names <paramref name="spanId"/> as the backend's parent (a span the gateway records).</summary>
    public static TraceContext Of(ActivityTraceId traceId, ActivitySpanId spanId, bool sampled, bool continued)
    {
        var parent = string.Create(55, (traceId, spanId, sampled), static (text, ids) =>
        {
            "00-".CopyTo(text);
            Span<byte> bytes = stackalloc byte[16];
            ids.traceId.CopyTo(bytes);
            Convert.TryToHexStringLower(bytes, text.Slice(3, 32), out _);
            text[35] = '-';
            ids.spanId.CopyTo(bytes[..8]);
            Convert.TryToHexStringLower(bytes[..8], text.Slice(36, 16), out _);
            text[52] = '-';
            (ids.sampled ? "01" : "00").CopyTo(text[53..]);
        });
        return new TraceContext(parent, continued);
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
