using Microsoft.Extensions.Time.Testing;

namespace ActorThrottle.Simulator.Tests;

public sealed class TokenBucketTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Starts_full()
    {
        var bucket = new TokenBucket(5, 10, _time);
        Assert.Equal(5, bucket.Level);
        Assert.True(bucket.CanTake(5));
        Assert.False(bucket.CanTake(5.5));
    }

    [Fact]
    public void Refills_at_its_rate()
    {
        var bucket = new TokenBucket(5, 10, _time);
        bucket.Take(5);
        Assert.False(bucket.CanTake(1));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, bucket.Level, 9);
        Assert.True(bucket.CanTake(1));
        _time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(3.5, bucket.Level, 9);
    }

    [Fact]
    public void Refill_is_capped_at_the_burst()
    {
        var bucket = new TokenBucket(3, 100, _time);
        bucket.Take(1);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(3, bucket.Level);
    }

    [Fact]
    public void Time_until_available_is_the_deficit_over_the_rate()
    {
        var bucket = new TokenBucket(10, 4, _time);
        bucket.Take(10);
        Assert.Equal(TimeSpan.FromMilliseconds(250), bucket.TimeUntilAvailable(1));
        Assert.Equal(TimeSpan.FromSeconds(1), bucket.TimeUntilAvailable(4));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(150), bucket.TimeUntilAvailable(1));
        Assert.Equal(TimeSpan.Zero, bucket.TimeUntilAvailable(0.4));
    }

    [Fact]
    public void An_amount_above_the_capacity_is_never_available()
    {
        var bucket = new TokenBucket(10, 4, _time);
        Assert.Equal(TimeSpan.MaxValue, bucket.TimeUntilAvailable(10.5));
    }

    [Fact]
    public void Time_until_full()
    {
        var bucket = new TokenBucket(60, 1, _time);
        Assert.Equal(TimeSpan.Zero, bucket.TimeUntilFull());
        bucket.Take(30);
        Assert.Equal(TimeSpan.FromSeconds(30), bucket.TimeUntilFull());
    }

    [Fact]
    public void Debt_is_floored_at_minus_the_capacity()
    {
        var bucket = new TokenBucket(2, 1, _time);
        bucket.Take(2);
        bucket.Take(1);
        Assert.Equal(-1, bucket.Level);
        Assert.Equal(TimeSpan.FromSeconds(2), bucket.TimeUntilAvailable(1));
        bucket.Take(10);
        Assert.Equal(-2, bucket.Level);
    }

    [Fact]
    public void Refund_is_capped_at_the_capacity()
    {
        var bucket = new TokenBucket(100, 1, _time);
        bucket.Take(30);
        bucket.Refund(20);
        Assert.Equal(90, bucket.Level);
        bucket.Refund(50);
        Assert.Equal(100, bucket.Level);
    }

    [Fact]
    public void Lowering_the_burst_clamps_and_never_refills()
    {
        var bucket = new TokenBucket(10, 1, _time);
        bucket.Reconfigure(4, 1);
        Assert.Equal(4, bucket.Level);
        bucket.Take(4);
        bucket.Reconfigure(2, 1);
        Assert.Equal(0, bucket.Level);
    }

    [Fact]
    public void Reconfigure_accrues_at_the_old_rate_first()
    {
        var bucket = new TokenBucket(10, 2, _time);
        bucket.Take(10);
        _time.Advance(TimeSpan.FromSeconds(1));
        bucket.Reconfigure(10, 100);
        Assert.Equal(2, bucket.Level, 9);
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(3, bucket.Level, 9);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-1, 1)]
    [InlineData(1, 0)]
    [InlineData(double.NaN, 1)]
    [InlineData(1, double.PositiveInfinity)]
    public void Rejects_invalid_parameters(double capacity, double rate)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(capacity, rate, _time));
    }
}
