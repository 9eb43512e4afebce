using ActorThrottle.Adaptation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// <see cref="BucketReadings"/>: readings of a refilled bucket (OpenAI's documented semantics) are its refill rate once
/// they agree over a doubled deficit or a quarter of a reset; a fixed window's (count ÷ time left) never pass.
/// </summary>
public sealed class BucketReadingsSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>What a bucket of <paramref name="capacity"/> refilled at <paramref name="rate"/>/s says with <paramref name="remaining"/> left.</summary>
    private static (double Reading, double Deficit, TimeSpan Reset) Bucket(double rate, long capacity, long remaining)
    {
        var deficit = capacity - remaining;
        // The reset is until the bucket is full, rounded up to the millisecond as a Go duration says it.
        var reset = TimeSpan.FromMilliseconds(Math.Ceiling(deficit / rate * 1000));
        return ((deficit - 0.5) / reset.TotalSeconds, deficit, reset);
    }

    /// <summary>What a fixed window of <paramref name="quota"/> per <paramref name="window"/> says <paramref name="count"/> in, at <paramref name="t"/> into it.</summary>
    private static (double Reading, double Deficit, TimeSpan Reset) Window(long quota, TimeSpan window, long count, TimeSpan t)
    {
        var reset = TimeSpan.FromMilliseconds(Math.Ceiling((window - t).TotalMilliseconds));
        return ((Math.Min(count, quota) - 0.5) / reset.TotalSeconds, Math.Min(count, quota), reset);
    }

    private static double? Feed(BucketReadings readings, (double Reading, double Deficit, TimeSpan Reset) r, double atMs) =>
        readings.Add(r.Reading, r.Deficit, r.Reset, T0 + TimeSpan.FromMilliseconds(atMs));

    [Fact]
    public void A_bucket_drained_at_ten_times_its_rate_is_known_once_the_deficit_doubles()
    {
        var readings = new BucketReadings();
        var verdicts = new List<double?>();
        // 1,000/s into a bucket of 100 refilled at 100/s: the deficit grows by 0.9 a millisecond.
        for (var ms = 12; ms <= 40; ms++)
        {
            var remaining = 100 - (long)Math.Floor(0.9 * ms);
            verdicts.Add(Feed(readings, Bucket(100, 100, remaining), ms));
        }

        var first = verdicts.FindIndex(v => v is not null);
        Assert.InRange(first, BucketReadings.MinReadings - 1, 12);
        Assert.All(verdicts.Skip(first), v => Assert.InRange(v!.Value, 95, 100));
    }

    [Fact]
    public void The_same_deficit_read_within_a_few_milliseconds_says_nothing_yet_and_over_half_a_reset_it_does()
    {
        var readings = new BucketReadings();
        // A bucket near empty at the limit's pace reads 98 / 0.98 s every time; readings are held 61 ms (a sixteenth of the
        // reset) apart, and once they span a quarter of the reset, it is the refill rate.
        var verdicts = Enumerable.Range(0, 1000).Select(ms => Feed(readings, Bucket(100, 100, 2), ms)).ToList();
        var first = verdicts.FindIndex(v => v is not null);
        Assert.InRange(first, 240, 310);
        Assert.InRange(verdicts[first]!.Value, 99, 100);
    }

    [Theory]
    [InlineData(100, 1)]
    [InlineData(200, 1)]
    [InlineData(1000, 1)]
    [InlineData(20, 6)]
    public void A_fixed_window_paced_at_any_rate_is_never_taken_for_a_bucket(double sendRate, int windowSeconds)
    {
        var quota = (long)(100 * windowSeconds);
        var window = TimeSpan.FromSeconds(windowSeconds);
        var readings = new BucketReadings();
        var step = 1000 / sendRate;
        // Three windows, every answer read (429s, with nothing remaining, never reach the readings).
        for (var ms = 0.0; ms < 3 * window.TotalMilliseconds; ms += step)
        {
            var t = TimeSpan.FromMilliseconds(ms % window.TotalMilliseconds);
            var count = (long)Math.Floor(t.TotalMilliseconds / step) + 1;
            if (count >= quota || count < 10)
            {
                continue;
            }
            Assert.Null(Feed(readings, Window(quota, window, count, t), ms));
        }
    }

    [Fact]
    public void Readings_that_disagree_give_no_rate_and_bad_input_is_ignored()
    {
        var readings = new BucketReadings();
        for (var i = 0; i < 3 * BucketReadings.Capacity; i++)
        {
            var rate = i % 2 == 0 ? 100 : 120;
            Assert.Null(readings.Add(rate, 10 + 10 * i, TimeSpan.FromMilliseconds(100 + 100 * i), T0 + TimeSpan.FromMilliseconds(100 * i)));
        }
        Assert.Null(readings.Add(0, 10, TimeSpan.FromSeconds(1), T0));
        Assert.Null(readings.Add(100, 0, TimeSpan.FromSeconds(1), T0));
        Assert.Null(readings.Add(100, 10, TimeSpan.Zero, T0));

        readings.Clear();
        for (var i = 0; i < BucketReadings.MinReadings - 1; i++)
        {
            Assert.Null(readings.Add(100, 10 * (i + 1), TimeSpan.FromMilliseconds(100 * (i + 1)), T0 + TimeSpan.FromMilliseconds(i)));
        }
    }

    [Property(MaxTest = 300)]
    public Property Any_bucket_drained_from_full_is_read_within_its_rounding(PositiveInt rateSeed, PositiveInt capacitySeed, PositiveInt sendSeed)
    {
        var rate = 5 + rateSeed.Get % 2000;
        // At least a second of refill, as the simulator's buckets hold; OpenAI's hold a minute's worth.
        var capacity = (long)(rate * (1 + capacitySeed.Get % 60));
        var sendRate = rate * (1.5 + sendSeed.Get % 20);
        var readings = new BucketReadings();
        double? verdict = null;
        var ok = true;
        // Sending faster than it refills until the bucket is empty: the deficit sweeps from 0 to the capacity.
        for (var sent = 1; sent < 4 * capacity; sent++)
        {
            var t = sent / sendRate;
            var remaining = (long)Math.Floor(Math.Min(capacity, capacity - sent + rate * t));
            if (remaining <= 0)
            {
                break;
            }
            if (capacity - remaining < 10)
            {
                continue;
            }
            if (Feed(readings, Bucket(rate, capacity, remaining), t * 1000) is { } v)
            {
                verdict = v;
                // (deficit − ½) ÷ reset lies within half a unit and a millisecond of the rate.
                ok &= v <= rate * 1.001 && v >= rate * (1 - BucketReadings.Agreement);
            }
        }
        return (ok && (verdict is not null || capacity < 40)).Label($"rate {rate}, capacity {capacity}, send {sendRate}, verdict {verdict}");
    }
}
