using ActorThrottle.Configuration;
using ActorThrottle.Retry;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Retry;

public sealed class RetryDelaySpec
{
    internal static readonly RetrySettings Settings = new(
        MaxAttempts: 6,
        BaseDelay: TimeSpan.FromSeconds(1),
        MaxDelay: TimeSpan.FromSeconds(30),
        MaxRetryAfter: TimeSpan.FromSeconds(120),
        Budget: 0.2,
        BudgetWindow: TimeSpan.FromSeconds(10),
        BudgetMinPerSecond: 1);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 16)]
    [InlineData(6, 30)]
    [InlineData(60, 30)]
    [InlineData(int.MaxValue, 30)]
    public void The_ceiling_doubles_per_retry_up_to_max_delay(int retry, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryDelay.ExponentialCeiling(retry, Settings.BaseDelay, Settings.MaxDelay));

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.5, 2)]
    [InlineData(0.25, 1)]
    public void Full_jitter_scales_the_ceiling_by_the_random_draw(double draw, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryDelay.Compute(3, Settings, retryAfter: null, draw));

    [Fact]
    public void Retry_after_is_a_floor_on_the_delay()
    {
        Assert.Equal(TimeSpan.FromSeconds(7), RetryDelay.Compute(1, Settings, TimeSpan.FromSeconds(7), 0.5));
        // A longer jittered wait wins over a short retry-after.
        Assert.Equal(TimeSpan.FromSeconds(8), RetryDelay.Compute(5, Settings, TimeSpan.FromSeconds(1), 0.5));
    }

    [Fact]
    public void A_retry_after_of_a_day_is_capped_at_max_retry_after() =>
        Assert.Equal(TimeSpan.FromSeconds(120), RetryDelay.Compute(1, Settings, TimeSpan.FromDays(1), 0.1));

    [Theory]
    [InlineData(0, 0.5)]
    [InlineData(1, 1.0)]
    [InlineData(1, -0.1)]
    [InlineData(1, double.NaN)]
    public void Out_of_range_arguments_are_refused(int retry, double draw) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryDelay.Compute(retry, Settings, null, draw));

    [Property]
    public Property The_delay_lies_between_the_retry_after_and_the_larger_of_it_and_the_ceiling(PositiveInt retry, NonNegativeInt afterMs, int seed)
    {
        var random = new Random(seed);
        var after = TimeSpan.FromMilliseconds(afterMs.Get % 200_000);
        var delay = RetryDelay.Compute(retry.Get, Settings, after, random.NextDouble());
        var floor = after > Settings.MaxRetryAfter ? Settings.MaxRetryAfter : after;
        var ceiling = RetryDelay.ExponentialCeiling(retry.Get, Settings.BaseDelay, Settings.MaxDelay);
        return (delay >= floor && delay <= (floor > ceiling ? floor : ceiling)).ToProperty();
    }
}
