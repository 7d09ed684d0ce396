using System.Diagnostics;
using Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Observability;

/// <summary>
/// The trace a client's request belongs to, read from its headers: W3C <c>traceparent</c> (with <c>tracestate</c>)
/// first, else B3 as one <c>b3</c> header or as <c>X-B3-*</c> headers. Only well-formed ids of the exact length are
/// taken; the headers decide nothing but the parent of the gateway's span and, for a parent that made it, whether the
/// trace is sampled.
/// </summary>
/// <param name="Parent">The client's span (its trace id, its span id, its sampled flag), or default when there is none.</param>
/// <param name="Deferred">B3 without a sampling decision: the gateway decides as for a new trace, on the parent's trace id.</param>
internal readonly record struct IncomingTrace(ActivityContext Parent, bool Deferred)
{
    /// <summary>
    /// The longest <c>tracestate</c> continued (W3C's 32 members of a few bytes each fit; its spec asks for at least
    /// 512 characters to be propagated). A longer one is dropped, here and on the way to the backend.
    /// </summary>
    public const int MaxTraceState = 512;

    public bool HasParent => Parent.TraceId != default;

    public static IncomingTrace Read(IHeaderDictionary headers)
    {
        var traceParent = headers.TraceParent;
        if (traceParent.Count == 1 && TraceContext.TryParse(traceParent[0], out _, out _))
        {
            var value = traceParent[0]!.AsSpan();
            var flags = IsSampled(traceParent[0]!) ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None;
            var state = headers.TraceState;
            var traceState = state.Count == 1 && state[0]!.Length <= MaxTraceState ? state[0] : null;
            return new IncomingTrace(new ActivityContext(ActivityTraceId.CreateFromString(value.Slice(3, 32)), ActivitySpanId.CreateFromString(value.Slice(36, 16)),
                flags, traceState, isRemote: true), Deferred: false);
        }

        if (headers["b3"] is { Count: 1 } single && ParseB3(single[0]) is { } b3)
        {
            return b3;
        }

        // (The other X-B3 headers are looked up only when a trace id came: most requests carry none.)
        return headers[B3TraceId] is { Count: > 0 } traceId ? ParseMultiB3(traceId, headers[B3SpanId], headers[B3Sampled], headers[B3Flags]) : default;
    }

    /// <summary>Whether a well-formed traceparent has its sampled flag (the lowest bit of its flags) set.</summary>
    public static bool IsSampled(string traceParent) => traceParent[54] is '1' or '3' or '5' or '7' or '9' or 'b' or 'd' or 'f';

    private const string B3TraceId = "X-B3-TraceId";
    private const string B3SpanId = "X-B3-SpanId";
    private const string B3Sampled = "X-B3-Sampled";
    private const string B3Flags = "X-B3-Flags";

    /// <summary><c>{trace id}-{span id}[-{1|0|d}[-{parent span id}]]</c>; a lone sampling flag carries no parent and is ignored.</summary>
    internal static IncomingTrace? ParseB3(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var text = value.AsSpan();
        var dash = text.IndexOf('-');
        if (dash is not (16 or 32) || text.Length < dash + 17 || (text.Length > dash + 17 && text[dash + 17] != '-'))
        {
            return null;
        }

        var trace = text[..dash];
        var span = text.Slice(dash + 1, 16);
        var rest = text.Length > dash + 17 ? text[(dash + 18)..] : [];
        var next = rest.IndexOf('-');
        var sampling = next >= 0 ? rest[..next] : rest;
        if (next >= 0 && (rest.Length - next - 1 != 16 || !IsId(rest[(next + 1)..])))
        {
            return null;
        }

        return sampling switch
        {
            "" => Context(trace, span, sampled: false, deferred: true),
            "1" or "d" => Context(trace, span, sampled: true, deferred: false),
            "0" => Context(trace, span, sampled: false, deferred: false),
            _ => null,
        };
    }

    internal static IncomingTrace ParseMultiB3(StringValues traceId, StringValues spanId, StringValues sampled, StringValues flags)
    {
        if (traceId.Count != 1 || spanId.Count != 1 || traceId[0] is not { Length: 16 or 32 } trace || spanId[0] is not { Length: 16 } span)
        {
            return default;
        }

        var debug = flags.Count == 1 && flags[0] == "1";
        var decision = sampled.Count == 1 ? sampled[0] : null;
        var parsed = decision switch
        {
            _ when debug => Context(trace, span, sampled: true, deferred: false),
            null => Context(trace, span, sampled: false, deferred: true),
            "1" or "true" => Context(trace, span, sampled: true, deferred: false),
            "0" or "false" => Context(trace, span, sampled: false, deferred: false),
            _ => null,
        };
        return parsed ?? default;
    }

    private static IncomingTrace? Context(ReadOnlySpan<char> trace, ReadOnlySpan<char> span, bool sampled, bool deferred)
    {
        if (!IsId(trace) || !IsId(span))
        {
            return null;
        }

        // A 64-bit B3 trace id is the low half of a 128-bit one.
        Span<char> full = stackalloc char[32];
        full.Fill('0');
        trace.CopyTo(full[(32 - trace.Length)..]);
        return new IncomingTrace(new ActivityContext(ActivityTraceId.CreateFromString(full), ActivitySpanId.CreateFromString(span),
            sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, null, isRemote: true), deferred);
    }

    /// <summary>Lower-case hex, not all zeros.</summary>
    private static bool IsId(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return text.Length > 0 && text.ContainsAnyExcept('0');
    }
}
