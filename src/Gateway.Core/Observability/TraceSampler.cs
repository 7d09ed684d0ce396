using System.Buffers.Binary;
using System.Diagnostics;

namespace Gateway.Observability;

/// <summary>
/// Parent-based ratio sampling, decided as OpenTelemetry's <c>ParentBased(TraceIdRatioBased(rate))</c> decides (so a
/// trace gets the same answer here as in the services behind the gateway that sample it that way): a parent's own
/// decision stands; a new trace, or a B3 parent that left the decision to the gateway, is sampled when the first
/// 8 bytes of its trace id, read as a big-endian number, are below <c>rate</c> of the range. Nothing is allocated: a
/// new trace's id is read from the hex digits the request already has.
/// </summary>
internal sealed class TraceSampler
{
    private readonly long _bound;

    public TraceSampler(double rate)
    {
        Rate = rate;
        _bound = rate <= 0 ? long.MinValue : rate >= 1 ? long.MaxValue : (long)(rate * long.MaxValue);
    }

    public double Rate { get; }

    /// <param name="incoming">The client's trace context, if any.</param>
    /// <param name="newTraceId">The 32 hex digits of the trace id the request has when it starts a trace.</param>
    public bool Samples(in IncomingTrace incoming, ReadOnlySpan<char> newTraceId)
    {
        if (incoming.HasParent && !incoming.Deferred)
        {
            return (incoming.Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0;
        }

        if (_bound == long.MaxValue || _bound == long.MinValue)
        {
            return _bound == long.MaxValue;
        }

        Span<byte> id = stackalloc byte[16];
        if (incoming.HasParent)
        {
            incoming.Parent.TraceId.CopyTo(id);
        }
        else if (Convert.FromHexString(newTraceId, id, out _, out _) != System.Buffers.OperationStatus.Done)
        {
            return false;
        }

        var high = BinaryPrimitives.ReadInt64BigEndian(id);
        return (high == long.MinValue ? long.MaxValue : Math.Abs(high)) < _bound;
    }
}
