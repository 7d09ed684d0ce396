using System.Diagnostics;
using Gateway.Observability;

namespace Gateway.Tests.Observability;

/// <summary>Parent-based ratio sampling, exactly: a parent's decision stands, a new trace is decided on its id.</summary>
public sealed class TraceSamplerTests
{
    private static IncomingTrace Parent(string traceId, bool sampled, bool deferred = false) =>
        new(new ActivityContext(ActivityTraceId.CreateFromString(traceId), ActivitySpanId.CreateRandom(),
            sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, null, isRemote: true), deferred);

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void A_parents_decision_stands_whatever_the_rate(double rate)
    {
        var sampler = new TraceSampler(rate);
        Assert.True(sampler.Samples(Parent("ffffffffffffffff0000000000000001", sampled: true), default));
        Assert.False(sampler.Samples(Parent("00000000000000000000000000000001", sampled: false), default));
    }

    [Theory]
    // The first 8 bytes as a number against (long)(rate * long.MaxValue) in double arithmetic, as OpenTelemetry's
    // TraceIdRatioBased has it (0.1 gives 0x0ccccccccccccd00).
    [InlineData(0.5, "3fffffffffffffff0000000000000000", true)]
    [InlineData(0.5, "4000000000000000ffffffffffffffff", false)]
    [InlineData(0.5, "c000000000000001ffffffffffffffff", true)]
    [InlineData(0.1, "0ccccccccccccd000000000000000000", false)]
    [InlineData(0.1, "0cccccccccccccff0000000000000000", true)]
    [InlineData(0.0, "00000000000000000000000000000001", false)]
    [InlineData(1.0, "7fffffffffffffffffffffffffffffff", true)]
    public void A_new_trace_is_decided_on_its_id(double rate, string traceId, bool sampled)
    {
        var sampler = new TraceSampler(rate);
        Assert.Equal(sampled, sampler.Samples(default, traceId));
        // A B3 parent that left the decision open is decided the same way on its trace id.
        Assert.Equal(sampled, sampler.Samples(Parent(traceId, sampled: false, deferred: true), default));
    }

    [Fact]
    public void About_the_rate_of_random_new_traces_is_sampled()
    {
        var sampler = new TraceSampler(0.25);
        var sampled = 0;
        for (var i = 0; i < 20_000; i++)
        {
            if (sampler.Samples(default, ActivityTraceId.CreateRandom().ToHexString()))
            {
                sampled++;
            }
        }

        // 5,000 expected; the bounds are more than 10 standard deviations (61) away.
        Assert.InRange(sampled, 4_300, 5_700);
    }
}
