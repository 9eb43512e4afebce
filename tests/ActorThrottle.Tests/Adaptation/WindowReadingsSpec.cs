using ActorThrottle.Adaptation;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>Telling a fixed window from a bucket by where the readings' ends fall (<see cref="WindowReadings"/>).</summary>
public sealed class WindowReadingsSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A fixed window of <paramref name="quota"/> per <paramref name="windowMs"/> (aligned to T0 + <paramref name="phaseMs"/>)
    /// offered <paramref name="rate"/> requests/s for <paramref name="seconds"/>: each request's reading (limit, remaining,
    /// reset to the window's end) at its send instant, in the order answers come back (latency drawn from
    /// <paramref name="latencyMs"/>, seeded).
    /// </summary>
    private static List<(long Remaining, TimeSpan Reset, DateTimeOffset SentAt)> FixedWindow(int quota, int windowMs, double rate, double seconds,
        (int Low, int High) latencyMs = default, int phaseMs = 0, int seed = 1)
    {
        var random = new Random(seed);
        var readings = new List<(long, TimeSpan, DateTimeOffset, DateTimeOffset)>();
        var count = 0;
        var windowIndex = -1;
        for (var i = 0; i < rate * seconds; i++)
        {
            var sentMs = i * 1000 / rate;
            var index = (int)Math.Floor((sentMs - phaseMs) / windowMs);
            if (index != windowIndex)
            {
                windowIndex = index;
                count = 0;
            }
            var endMs = (index + 1) * windowMs + phaseMs;
            count = Math.Min(quota, count + 1);
            var sent = T0 + TimeSpan.FromMilliseconds(sentMs);
            var answered = sent + TimeSpan.FromMilliseconds(latencyMs.High > 0 ? random.Next(latencyMs.Low, latencyMs.High) : 0);
            readings.Add((quota - count, TimeSpan.FromMilliseconds(endMs - sentMs), sent, answered));
        }
        return readings.OrderBy(r => r.Item4).Select(r => (r.Item1, r.Item2, r.Item3)).ToList();
    }

    private static double? Feed(WindowReadings windows, long limit, IEnumerable<(long Remaining, TimeSpan Reset, DateTimeOffset SentAt)> readings)
    {
        double? verdict = null;
        foreach (var (remaining, reset, sentAt) in readings)
        {
            verdict = windows.Add(limit, remaining, reset, sentAt);
        }
        return verdict;
    }

    [Theory]
    [InlineData(100, 1000, 200, 0, 0, 0)]
    [InlineData(100, 1000, 1000, 0, 0, 250)]
    [InlineData(100, 1000, 200, 100, 300, 500)]
    [InlineData(20, 1000, 40, 100, 300, 0)]
    [InlineData(120, 6000, 40, 0, 0, 3000)]
    public void A_fixed_window_offered_more_than_its_quota_shows_its_pace_after_two_rollovers(int quota, int windowMs, double rate, int latencyLow, int latencyHigh, int phaseMs)
    {
        var windows = new WindowReadings();
        var readings = FixedWindow(quota, windowMs, rate, seconds: 3.5 * windowMs / 1000, (latencyLow, latencyHigh), phaseMs);
        Assert.Equal(quota * 1000.0 / windowMs, Feed(windows, quota, readings)!.Value, 6);
        Assert.Equal(TimeSpan.FromMilliseconds(windowMs), windows.Window);
    }

    [Fact]
    public void One_rollover_is_not_enough()
    {
        var windows = new WindowReadings();
        Assert.Null(Feed(windows, 100, FixedWindow(100, 1000, 200, seconds: 1.9)));
        Assert.Null(windows.Window);
    }

    [Theory]
    [InlineData(100, 100.0, 0)]
    [InlineData(100, 80.0, 0)]
    [InlineData(100, 150.0, 0)]
    [InlineData(100, 100.0, 200)]
    [InlineData(1000, 900.0, 50)]
    public void A_bucket_whose_reset_is_its_time_to_full_never_shows_a_window(int limit, double sendRate, int latencyMs)
    {
        // A bucket of `limit` refilled at limit/s, offered sendRate: reset = (limit - remaining) / refill.
        var windows = new WindowReadings();
        var random = new Random(3);
        double tokens = limit;
        var last = 0.0;
        var readings = new List<(long, TimeSpan, DateTimeOffset, DateTimeOffset)>();
        for (var i = 0; i < sendRate * 10; i++)
        {
            var t = i / sendRate;
            tokens = Math.Min(limit, tokens + (t - last) * limit);
            last = t;
            if (tokens >= 1)
            {
                tokens -= 1;
            }
            var remaining = (long)Math.Floor(tokens);
            var reset = TimeSpan.FromSeconds((limit - tokens) / limit);
            var sent = T0 + TimeSpan.FromSeconds(t);
            readings.Add((remaining, reset, sent, sent + TimeSpan.FromMilliseconds(latencyMs == 0 ? 0 : random.Next(latencyMs / 2, latencyMs))));
        }
        Assert.Null(Feed(windows, limit, readings.OrderBy(r => r.Item4).Select(r => (r.Item1, r.Item2, r.Item3))));
    }

    [Fact]
    public void A_window_never_spent_is_no_evidence()
    {
        // Offered under its quota at the same instants each window: the count comes back up, but nothing shows the reset is
        // a window's end rather than a quiet bucket's.
        var windows = new WindowReadings();
        var readings = FixedWindow(100, 1000, 1, seconds: 6);
        Assert.Null(Feed(windows, 100, readings));
    }

    [Fact]
    public void Windows_of_different_lengths_do_not_agree()
    {
        // Ends at 1 s, 2 s, 4 s, 5 s, 7 s: windows of 1, 2, 1 and 2 s, never two of one length in a row.
        var windows = new WindowReadings();
        double? verdict = null;
        foreach (var (fromMs, endMs) in new[] { (0, 1000), (1000, 2000), (2000, 4000), (4000, 5000), (5000, 7000) })
        {
            for (var k = 0; k < 10; k++)
            {
                var at = T0 + TimeSpan.FromMilliseconds(fromMs + k * 10);
                verdict = windows.Add(100, 90 - k, T0 + TimeSpan.FromMilliseconds(endMs) - at, at);
            }
        }
        Assert.Null(verdict);
        Assert.Null(windows.Window);
    }

    [Fact]
    public void The_pace_follows_the_limit_last_read()
    {
        var windows = new WindowReadings();
        Assert.Equal(100, Feed(windows, 100, FixedWindow(100, 1000, 200, seconds: 3.5))!.Value, 6);
        Assert.Equal(50, windows.Add(50, 10, TimeSpan.FromMilliseconds(100), T0 + TimeSpan.FromMilliseconds(3900))!.Value, 6);
    }

    [Fact]
    public void Readings_without_a_reset_or_a_limit_change_nothing()
    {
        var windows = new WindowReadings();
        Assert.Equal(100, Feed(windows, 100, FixedWindow(100, 1000, 200, seconds: 3.5))!.Value, 6);
        var at = T0 + TimeSpan.FromMilliseconds(3600);
        // Taken, a limit of 0 would leave no pace and a reset of 0 an end that moved (a bucket): the verdict would go.
        Assert.Equal(100, windows.Add(0, 10, TimeSpan.FromMilliseconds(400), at)!.Value, 6);
        Assert.Equal(100, windows.Add(100, 10, TimeSpan.Zero, at)!.Value, 6);
        Assert.Equal(100, windows.Add(100, -1, TimeSpan.FromMilliseconds(400), at)!.Value, 6);
        Assert.Equal(TimeSpan.FromSeconds(1), windows.Window);
    }
}
