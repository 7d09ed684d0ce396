using System.Diagnostics;
using Gateway.Observability;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Observability;

/// <summary>Reading a client's trace context: W3C first, then B3 single and multi; anything malformed is no parent.</summary>
public sealed class IncomingTraceTests
{
    private const string Trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string Span = "00f067aa0ba902b7";

    private static IncomingTrace Read(params (string Name, string Value)[] headers)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary.Append(name, value);
        }

        return IncomingTrace.Read(dictionary);
    }

    [Fact]
    public void W3c_wins_over_b3_and_keeps_its_flags_and_state()
    {
        var incoming = Read(("traceparent", $"00-{Trace}-{Span}-01"), ("tracestate", "a=1"), ("b3", $"{new string('1', 32)}-{Span}-1"));
        Assert.Equal(Trace, incoming.Parent.TraceId.ToHexString());
        Assert.Equal(Span, incoming.Parent.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, incoming.Parent.TraceFlags);
        Assert.Equal("a=1", incoming.Parent.TraceState);
        Assert.False(incoming.Deferred);
    }

    [Fact]
    public void A_tracestate_over_its_bound_is_not_continued()
    {
        var incoming = Read(("traceparent", $"00-{Trace}-{Span}-00"), ("tracestate", "a=" + new string('x', IncomingTrace.MaxTraceState)));
        Assert.True(incoming.HasParent);
        Assert.Null(incoming.Parent.TraceState);
        Assert.Equal(ActivityTraceFlags.None, incoming.Parent.TraceFlags);
    }

    [Theory]
    [InlineData($"{Trace}-{Span}-1", true, false)]
    [InlineData($"{Trace}-{Span}-d", true, false)]
    [InlineData($"{Trace}-{Span}-0", false, false)]
    [InlineData($"{Trace}-{Span}", false, true)]
    [InlineData($"{Trace}-{Span}-1-{Span}", true, false)]
    public void B3_single_header(string value, bool sampled, bool deferred)
    {
        var incoming = Read(("b3", value));
        Assert.Equal(Trace, incoming.Parent.TraceId.ToHexString());
        Assert.Equal(Span, incoming.Parent.SpanId.ToHexString());
        Assert.Equal(sampled, incoming.Parent.TraceFlags == ActivityTraceFlags.Recorded);
        Assert.Equal(deferred, incoming.Deferred);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData($"{Trace}-{Span}-2")]
    [InlineData($"{Trace}-{Span}-1-short")]
    [InlineData($"{Trace}x-{Span}-1")]
    [InlineData("4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-1")]
    [InlineData($"00000000000000000000000000000000-{Span}-1")]
    [InlineData($"{Trace}-0000000000000000-1")]
    [InlineData($"{Trace}-{Span}1")]
    public void A_malformed_b3_header_is_no_parent(string value) => Assert.False(Read(("b3", value)).HasParent);

    [Fact]
    public void B3_multi_headers_with_a_64_bit_trace_id()
    {
        var incoming = Read(("X-B3-TraceId", Span), ("X-B3-SpanId", Span), ("X-B3-Sampled", "1"));
        Assert.Equal("0000000000000000" + Span, incoming.Parent.TraceId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, incoming.Parent.TraceFlags);
        Assert.True(Read(("X-B3-TraceId", Trace), ("X-B3-SpanId", Span)).Deferred);
        Assert.Equal(ActivityTraceFlags.Recorded, Read(("X-B3-TraceId", Trace), ("X-B3-SpanId", Span), ("X-B3-Flags", "1")).Parent.TraceFlags);
        Assert.False(Read(("X-B3-TraceId", Trace), ("X-B3-SpanId", Span), ("X-B3-Sampled", "maybe")).HasParent);
        Assert.False(Read(("X-B3-TraceId", Trace)).HasParent);
    }
}
