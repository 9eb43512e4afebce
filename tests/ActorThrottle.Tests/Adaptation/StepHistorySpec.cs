using ActorThrottle.Adaptation;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class StepHistorySpec
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Without_steps_the_current_value_is_the_one_to_cut_from()
    {
        var history = new StepHistory<double>();
        Assert.Equal(42, history.BeforeFirstSince(T0, current: 42));
    }

    [Theory]
    [InlineData(0, 200)]     // since the first step: before it
    [InlineData(50, 130)]    // between the first and the second: before the second
    [InlineData(100, 130)]   // exactly at the second (inclusive)
    [InlineData(101, 90)]    // after every step: the current value
    public void The_value_before_the_first_step_at_or_after_since_is_returned(int sinceMs, double expected)
    {
        var history = new StepHistory<double>();
        history.Record(T0, 200);
        history.Record(T0.AddMilliseconds(100), 130);
        Assert.Equal(expected, history.BeforeFirstSince(T0.AddMilliseconds(sinceMs), current: 90));
    }

    [Fact]
    public void Clear_forgets_every_step()
    {
        var history = new StepHistory<double>();
        history.Record(T0, 200);
        history.Clear();
        Assert.Equal(7, history.BeforeFirstSince(DateTimeOffset.MinValue, current: 7));
    }

    [Fact]
    public void Only_the_newest_steps_are_kept()
    {
        var history = new StepHistory<int>();
        for (var i = 0; i < StepHistory<int>.Capacity + 10; i++)
        {
            history.Record(T0.AddSeconds(i), i);
        }
        // The oldest ten were dropped: the first step still known is the eleventh.
        Assert.Equal(10, history.BeforeFirstSince(DateTimeOffset.MinValue, current: -1));
    }
}
