using ActorThrottle.Adaptation;
using ActorThrottle.Configuration;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class OverloadDetectorSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan CoolDown = TimeSpan.FromMilliseconds(250);

    [Theory]
    [InlineData(0, 0, false)]
    [InlineData(3, 3, false)]  // fewer than four 429s: noise
    [InlineData(4, 4, true)]
    [InlineData(4, 7, true)]
    [InlineData(4, 8, false)]  // exactly half is not more than half
    [InlineData(5, 9, true)]
    [InlineData(50, 100, false)]
    [InlineData(51, 100, true)]
    [InlineData(100, 100, true)]
    public void The_rule_is_more_than_half_and_at_least_four(int rejected, int attempts, bool overload) =>
        Assert.Equal(overload, OverloadDetector.IsOverload(rejected, attempts));

    [Fact]
    public void A_run_of_429s_among_few_successes_is_an_overload()
    {
        var detector = new OverloadDetector(CoolDown);
        var t = T0;
        for (var i = 0; i < 3; i++)
        {
            detector.Record(t += TimeSpan.FromMilliseconds(10), rejected: false);
        }
        for (var i = 0; i < 3; i++)
        {
            detector.Record(t += TimeSpan.FromMilliseconds(10), rejected: true);
            Assert.False(detector.IsOverloaded(t));
        }
        detector.Record(t += TimeSpan.FromMilliseconds(10), rejected: true);
        Assert.True(detector.IsOverloaded(t));
        Assert.Equal(4, detector.Rejected);
        Assert.Equal(7, detector.Counted);
    }

    [Fact]
    public void A_storm_after_a_large_burst_counts_on_its_own_only_when_asked_and_from_sixteen_429s()
    {
        var detector = new OverloadDetector(CoolDown);
        // A sliding log of a second's quota: 100 accepted within 100 ms at 1,000/s, then everything sent is refused.
        var t = T0;
        for (var i = 0; i < 100; i++)
        {
            detector.Record(t = T0 + TimeSpan.FromMilliseconds(i), rejected: false);
        }
        for (var i = 0; i < OverloadDetector.MinStormRejections - 1; i++)
        {
            detector.Record(t = T0 + TimeSpan.FromMilliseconds(100 + i), rejected: true);
            // Fifteen 429s against a hundred successes: no overload by either rule (an opening burst spilling over is fewer).
            Assert.False(detector.IsOverloaded(t, countStorm: true));
        }
        Assert.Equal((OverloadDetector.MinStormRejections - 1, OverloadDetector.MinStormRejections - 1), detector.Storm);
        detector.Record(t += TimeSpan.FromMilliseconds(1), rejected: true);
        Assert.True(detector.IsOverloaded(t, countStorm: true));
        // The caller's rate is one the provider held: the storm alone is not an overload, the cool-down's share is not either.
        Assert.False(detector.IsOverloaded(t));
        // A success sent after the storm began counts against it.
        detector.Record(t, rejected: false, sentAt: T0 + TimeSpan.FromMilliseconds(105));
        Assert.Equal((OverloadDetector.MinStormRejections + 1, OverloadDetector.MinStormRejections), detector.Storm);
        Assert.True(detector.IsOverloaded(t, countStorm: true));
    }

    [Fact]
    public void At_a_high_rate_only_the_last_cool_down_counts()
    {
        var detector = new OverloadDetector(CoolDown);
        // 100 successes over the first second, then six 429s 300 ms later: the successes have left the window.
        for (var i = 0; i < 100; i++)
        {
            detector.Record(T0 + TimeSpan.FromMilliseconds(10 * i), rejected: false);
        }
        var t = T0 + TimeSpan.FromMilliseconds(1300);
        for (var i = 0; i < 4; i++)
        {
            detector.Record(t, rejected: true);
        }
        // The window holds only the 429s, so the last eight answers count: 4 of 8 is not more than half.
        Assert.False(detector.IsOverloaded(t));
        Assert.Equal(8, detector.Counted);
        detector.Record(t, rejected: true);
        Assert.True(detector.IsOverloaded(t));
        Assert.Equal(5, detector.Rejected);
    }

    [Fact]
    public void A_slow_model_counts_its_last_eight_answers_when_the_cool_down_holds_fewer()
    {
        var detector = new OverloadDetector(CoolDown);
        // One answer a second: 4 successes then 4 429s is half, not more.
        var t = T0;
        for (var i = 0; i < 4; i++)
        {
            detector.Record(t += TimeSpan.FromSeconds(1), rejected: false);
        }
        for (var i = 0; i < 4; i++)
        {
            detector.Record(t += TimeSpan.FromSeconds(1), rejected: true);
        }
        Assert.False(detector.IsOverloaded(t));
        Assert.Equal(8, detector.Counted);
        detector.Record(t += TimeSpan.FromSeconds(1), rejected: true);
        Assert.True(detector.IsOverloaded(t));
    }

    [Fact]
    public void Answers_older_than_the_lookback_never_count_and_a_reset_forgets_all()
    {
        var detector = new OverloadDetector(CoolDown);
        for (var i = 0; i < 4; i++)
        {
            detector.Record(T0, rejected: true);
        }
        Assert.True(detector.IsOverloaded(T0));
        Assert.False(detector.IsOverloaded(T0 + OverloadDetector.MaxLookback + TimeSpan.FromTicks(1)));
        Assert.Equal(0, detector.Counted);
        for (var i = 0; i < 4; i++)
        {
            detector.Record(T0 + TimeSpan.FromSeconds(20), rejected: true);
        }
        detector.Reset();
        Assert.False(detector.IsOverloaded(T0 + TimeSpan.FromSeconds(20)));
        Assert.Equal(0, detector.Rejected);
    }

    [Fact]
    public void It_tells_when_the_earliest_429_it_counts_was_sent()
    {
        var detector = new OverloadDetector(CoolDown);
        Assert.Null(detector.EarliestRejectedSentAt);
        detector.Record(T0 + TimeSpan.FromMilliseconds(300), rejected: false, sentAt: T0);
        detector.Record(T0 + TimeSpan.FromMilliseconds(310), rejected: true, sentAt: T0 + TimeSpan.FromMilliseconds(305));
        detector.Record(T0 + TimeSpan.FromMilliseconds(320), rejected: true, sentAt: T0 + TimeSpan.FromMilliseconds(100));
        detector.Record(T0 + TimeSpan.FromMilliseconds(330), rejected: true);
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(100), detector.EarliestRejectedSentAt);
        detector.Reset();
        Assert.Null(detector.EarliestRejectedSentAt);
    }

    /// <summary>The detector against a brute-force reading of its rule on random answer sequences.</summary>
    [Property(MaxTest = 300)]
    public Property It_agrees_with_the_rule_computed_from_scratch(int[] gaps, bool[] rejected, PositiveInt windowMs)
    {
        var window = TimeSpan.FromMilliseconds(windowMs.Get % 1000);
        var detector = new OverloadDetector(window);
        var history = new List<(DateTimeOffset At, bool Rejected)>();
        var t = T0;
        for (var i = 0; i < Math.Min(gaps.Length, rejected.Length); i++)
        {
            t += TimeSpan.FromMilliseconds(Math.Abs(gaps[i] % 3000));
            detector.Record(t, rejected[i]);
            history.Add((t, rejected[i]));
            // From scratch: answers within the window, extended back to the last eight, none older than the lookback.
            var recent = history.Where(h => t - h.At <= OverloadDetector.MaxLookback).ToList();
            var inWindow = recent.Where(h => t - h.At <= window).ToList();
            var counted = inWindow.Count >= OverloadDetector.MinOutcomes ? inWindow : recent.TakeLast(OverloadDetector.MinOutcomes).ToList();
            var expected = OverloadDetector.IsOverload(counted.Count(h => h.Rejected), counted.Count);
            if (detector.IsOverloaded(t) != expected || detector.Counted != counted.Count)
            {
                return false.Label($"at answer {i}: detector {detector.Rejected}/{detector.Counted}, expected {counted.Count(h => h.Rejected)}/{counted.Count}");
            }
        }
        return true.ToProperty();
    }

    [Theory]
    [InlineData(500, 1, 500)]         // the provider's retry-after
    [InlineData(500, 9, 500)]         // whatever the count
    [InlineData(300_000, 1, 120_000)] // capped at max-retry-after
    [InlineData(0, 1, 0)]             // "now" means no pause
    [InlineData(null, 1, 250)]        // none: the cool-down (under base-delay), doubling
    [InlineData(null, 2, 500)]
    [InlineData(null, 5, 4_000)]
    [InlineData(null, 8, 30_000)]     // capped at max-delay
    [InlineData(null, 1_000, 30_000)]
    public void The_pause_is_the_retry_after_or_a_doubling_backoff_from_the_cool_down(int? retryAfterMs, int consecutive, int expectedMs)
    {
        var retry = new RetrySettings(6, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120), 0.2, TimeSpan.FromSeconds(10), 1);
        TimeSpan? retryAfter = retryAfterMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), OverloadPause.Length(retryAfter, consecutive, retry, TimeSpan.FromMilliseconds(250)));
    }

    [Theory]
    [InlineData(0, 1, 1_000)]          // no cool-down: base-delay
    [InlineData(5_000, 1, 1_000)]      // a cool-down longer than base-delay: base-delay
    [InlineData(5_000, 2, 2_000)]
    public void Without_a_shorter_cool_down_the_first_pause_is_base_delay(int coolDownMs, int consecutive, int expectedMs)
    {
        var retry = new RetrySettings(6, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120), 0.2, TimeSpan.FromSeconds(10), 1);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), OverloadPause.Length(null, consecutive, retry, TimeSpan.FromMilliseconds(coolDownMs)));
    }

    [Theory]
    [InlineData(null, 250, 3, 1_000)]     // an outage's pauses double from the cool-down up to the given longest (base-delay)
    [InlineData(null, 250, 30, 1_000)]
    [InlineData(null, 5_000, 4, 1_000)]   // never below the first pause (base-delay, the cool-down being longer)
    [InlineData(3_000, 250, 1, 3_000)]    // a retry-after is kept whole
    [InlineData(null, 250, 30, 30_000, 60_000)] // a longest above max-delay: max-delay still caps
    public void The_doubling_stops_at_the_longest_given(int? retryAfterMs, int coolDownMs, int consecutive, int expectedMs, int longestMs = 1_000)
    {
        var retry = new RetrySettings(6, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120), 0.2, TimeSpan.FromSeconds(10), 1);
        TimeSpan? retryAfter = retryAfterMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs),
            OverloadPause.Length(retryAfter, consecutive, retry, TimeSpan.FromMilliseconds(coolDownMs), longest: TimeSpan.FromMilliseconds(longestMs)));
    }

    [Fact]
    public void A_pause_count_below_one_is_refused()
    {
        var retry = new RetrySettings(6, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120), 0.2, TimeSpan.FromSeconds(10), 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => OverloadPause.Length(null, 0, retry, TimeSpan.FromMilliseconds(250)));
    }
}
