using Gateway.Redis;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Tests.Redis;

/// <summary>The one set of rules by which every Redis user tells a slow call from an unreachable server.</summary>
public sealed class RedisHealthTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<string> _transitions = [];

    private bool Fail(RedisHealth health, RedisFailure failure) => health.Failed(failure, _transitions, static t => t.Add("down"));

    private void Succeed(RedisHealth health) => health.Succeeded(_transitions, static t => t.Add("up"));

    [Fact]
    public void Slow_calls_for_less_than_a_second_are_not_an_outage_however_many()
    {
        var health = new RedisHealth(_time);
        for (var i = 0; i < 10; i++)
        {
            Assert.False(Fail(health, RedisFailure.Slow));
            _time.Advance(TimeSpan.FromMilliseconds(90));
        }

        Assert.False(health.IsDown);
        Assert.False(health.ShouldSkip());
        Assert.Empty(_transitions);
    }

    [Fact]
    public void Slow_calls_that_go_on_for_a_second_without_a_success_are_an_outage_reported_once()
    {
        var health = new RedisHealth(_time);
        Assert.False(Fail(health, RedisFailure.Slow));
        _time.Advance(TimeSpan.FromMilliseconds(600));
        Assert.False(Fail(health, RedisFailure.Slow));
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(Fail(health, RedisFailure.Slow));
        Assert.True(Fail(health, RedisFailure.Slow));
        Assert.True(health.IsDown);
        Assert.Equal(["down"], _transitions);
    }

    [Fact]
    public void Two_slow_calls_over_a_long_time_are_not_enough()
    {
        var health = new RedisHealth(_time);
        Assert.False(Fail(health, RedisFailure.Slow));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(Fail(health, RedisFailure.Slow));
        Assert.False(health.IsDown);
    }

    [Fact]
    public void A_success_between_slow_calls_starts_the_count_again()
    {
        var health = new RedisHealth(_time);
        for (var i = 0; i < 5; i++)
        {
            Fail(health, RedisFailure.Slow);
            Fail(health, RedisFailure.Slow);
            _time.Advance(TimeSpan.FromMilliseconds(800));
            Succeed(health);
        }

        Assert.False(health.IsDown);
        Assert.Empty(_transitions);
    }

    [Fact]
    public void No_connection_is_an_outage_at_once_and_one_probe_a_second_finds_the_way_back()
    {
        var health = new RedisHealth(_time);
        Assert.True(Fail(health, RedisFailure.Connection));
        Assert.True(health.ShouldSkip());
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(health.ShouldSkip());
        _time.Advance(TimeSpan.FromMilliseconds(600));

        // One caller probes; the others keep skipping until it answers.
        Assert.False(health.ShouldSkip());
        Assert.True(health.ShouldSkip());
        Succeed(health);
        Assert.False(health.IsDown);
        Assert.False(health.ShouldSkip());
        Assert.Equal(["down", "up"], _transitions);
    }

    [Theory]
    [InlineData(typeof(RedisConnectionException), nameof(RedisFailure.Connection))]
    [InlineData(typeof(ObjectDisposedException), nameof(RedisFailure.Connection))]
    [InlineData(typeof(RedisTimeoutException), nameof(RedisFailure.Slow))]
    [InlineData(typeof(TimeoutException), nameof(RedisFailure.Slow))]
    [InlineData(typeof(RedisServerException), nameof(RedisFailure.Slow))]
    public void Failures_are_told_apart_by_what_they_say_about_the_server(Type type, string expected)
    {
        Exception e = type == typeof(RedisConnectionException) ? new RedisConnectionException(ConnectionFailureType.SocketFailure, "gone")
            : type == typeof(ObjectDisposedException) ? new ObjectDisposedException("connection")
            : type == typeof(RedisTimeoutException) ? new RedisTimeoutException("slow", CommandStatus.Sent)
            : type == typeof(RedisServerException) ? new RedisServerException("BUSY")
            : new TimeoutException();
        Assert.Equal(expected, RedisHealth.Classify(e).ToString());
        // Anything else the client throws (a connection torn down under a read) means no connection.
        Assert.Equal(RedisFailure.Connection, RedisHealth.Classify(new InvalidOperationException("Reading is not allowed after reader was completed.")));
    }

    [Fact]
    public async Task Start_up_retries_until_the_server_answers_and_callers_wait_for_it()
    {
        var health = new RedisHealth(TimeProvider.System);
        var attempts = 0;
        bool? reached = null;
        var started = health.StartAsync(() => ++attempts < 3 ? Task.FromException(new RedisConnectionException(ConnectionFailureType.UnableToConnect, "no")) : Task.CompletedTask,
            TimeSpan.FromSeconds(10), r => reached = r);
        Assert.Same(started, health.StartAsync(() => throw new InvalidOperationException("only the first start runs"), TimeSpan.Zero, _ => { }));
        await started.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, attempts);
        Assert.True(reached);
        Assert.False(health.IsDown);
    }

    [Fact]
    public async Task Without_a_wait_start_up_holds_nothing_and_marks_nothing_however_the_warm_up_goes()
    {
        var health = new RedisHealth(TimeProvider.System);
        var called = false;
        var started = health.StartAsync(() => Task.FromException(new RedisConnectionException(ConnectionFailureType.UnableToConnect, "no")), TimeSpan.Zero, _ => called = true);
        Assert.True(started.IsCompleted);
        await Task.Delay(50);
        Assert.False(health.IsDown);
        Assert.False(called);
    }

    [Fact]
    public async Task Start_up_that_cannot_reach_the_server_gives_up_after_the_wait_and_marks_it_unreachable()
    {
        var health = new RedisHealth(TimeProvider.System);
        bool? reached = null;
        var never = new TaskCompletionSource();
        await health.StartAsync(() => never.Task, TimeSpan.FromMilliseconds(300), r => reached = r).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(reached);
        Assert.True(health.IsDown);
        Assert.True(health.ShouldSkip());
    }
}
