using ActorThrottle.Throttling;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Throttling;

public sealed class ThrottleBucketsSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    [Fact]
    public void A_fresh_bucket_releases_its_burst_at_once_then_waits_for_the_rate()
    {
        var buckets = new ThrottleBuckets(rate: 10, burst: 3, tokensPerMinute: 0, Tick, T0);
        Assert.Null(buckets.TryTake(T0, 0));
        Assert.Null(buckets.TryTake(T0, 0));
        Assert.Null(buckets.TryTake(T0, 0));
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(100), buckets.TryTake(T0, 0));
        Assert.Null(buckets.TryTake(T0 + TimeSpan.FromMilliseconds(100), 0));
    }

    [Fact]
    public void Capacity_is_a_ticks_worth_plus_one_when_that_exceeds_the_burst()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 1, tokensPerMinute: 0, Tick, T0);
        Assert.Equal(11, buckets.RequestCapacity, 9);
        var released = 0;
        while (buckets.TryTake(T0, 0) is null)
        {
            released++;
        }
        Assert.Equal(11, released);
    }

    [Theory]
    [InlineData(11, 1)]
    [InlineData(150, 1)]
    [InlineData(1000, 1)]
    [InlineData(37, 2)]
    public void A_small_burst_does_not_cap_the_rate_when_the_timer_fires_on_every_tick(double rate, int burst)
    {
        var buckets = new ThrottleBuckets(rate, burst, tokensPerMinute: 0, Tick, T0);
        var released = 0;
        for (var ms = 0; ms <= 10_000; ms += 10)
        {
            while (buckets.TryTake(T0 + TimeSpan.FromMilliseconds(ms), 0) is null)
            {
                released++;
            }
        }
        // Ten seconds at the rate, plus the bucket that was full at the start.
        Assert.InRange(released, rate * 10 - 1, rate * 10 + buckets.RequestCapacity);
    }

    [Fact]
    public void Shrinking_the_burst_clamps_the_level_and_growing_it_does_not_refill()
    {
        var buckets = new ThrottleBuckets(rate: 1, burst: 10, tokensPerMinute: 0, Tick, T0);
        buckets.SetBurst(T0, 2);
        Assert.Equal(2, buckets.RequestLevel, 9);
        buckets.SetBurst(T0, 10);
        Assert.Equal(2, buckets.RequestLevel, 9);
        Assert.Null(buckets.TryTake(T0, 0));
        Assert.Null(buckets.TryTake(T0, 0));
        Assert.NotNull(buckets.TryTake(T0, 0));
    }

    [Fact]
    public void A_rate_change_takes_effect_at_once_for_the_time_after_it()
    {
        var buckets = new ThrottleBuckets(rate: 1, burst: 2, tokensPerMinute: 0, Tick, T0);
        Assert.Null(buckets.TryTake(T0, 0));
        Assert.Null(buckets.TryTake(T0, 0));
        // Half a second at 1/s accrues 0.5; then at 100/s the rest comes after 5 ms.
        buckets.SetRate(T0 + TimeSpan.FromMilliseconds(500), 100);
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(505), buckets.TryTake(T0 + TimeSpan.FromMilliseconds(500), 0));
    }

    [Fact]
    public void A_pause_holds_every_release_until_its_instant()
    {
        var buckets = new ThrottleBuckets(rate: 100, burst: 5, tokensPerMinute: 0, Tick, T0);
        var until = T0 + TimeSpan.FromSeconds(2);
        buckets.PauseUntil(until);
        buckets.PauseUntil(T0 + TimeSpan.FromSeconds(1)); // an earlier pause does not shorten it
        Assert.Equal(until, buckets.TryTake(T0 + TimeSpan.FromSeconds(1.5), 0));
        Assert.Null(buckets.TryTake(until, 0));
    }

    [Fact]
    public void The_token_bucket_charges_cost_and_waits_for_enough_tokens()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 6000, Tick, T0, tokensBurst: 6000);
        Assert.Null(buckets.TryTake(T0, 5000));
        // 1000 left; 3000 more needed at 100 tokens/s → 30 s.
        Assert.Equal(T0 + TimeSpan.FromSeconds(30), buckets.TryTake(T0, 4000));
        Assert.Null(buckets.TryTake(T0 + TimeSpan.FromSeconds(30), 4000));
    }

    [Fact]
    public void Refunds_return_tokens_up_to_the_budget()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 6000, Tick, T0, tokensBurst: 6000);
        Assert.Null(buckets.TryTake(T0, 6000));
        buckets.Refund(T0, 2500);
        Assert.Equal(2500, buckets.TokenLevel, 6);
        buckets.Refund(T0, 100000);
        Assert.Equal(6000, buckets.TokenLevel, 6);
    }

    [Fact]
    public void A_cost_larger_than_the_budget_waits_for_a_full_bucket_and_is_charged_in_full()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 600, Tick, T0, tokensBurst: 600);
        Assert.Null(buckets.TryTake(T0, 10_000));
        Assert.Equal(-9_400, buckets.TokenLevel, 6);
        // The debt is repaid at 10 tokens/s before a full bucket (600) is there again: 1,000 s.
        Assert.Equal(T0 + TimeSpan.FromSeconds(1_000), buckets.TryTake(T0, 10_000));
    }

    [Fact]
    public void With_tokens_burst_the_bucket_starts_full_at_the_burst_not_at_a_minute()
    {
        // 6,000 tokens/min = 100/s, capacity 300: three 100-token elements at once, then one per second.
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 6000, Tick, T0, tokensBurst: 300);
        Assert.Equal(300, buckets.TokenCapacity);
        Assert.Null(buckets.TryTake(T0, 100));
        Assert.Null(buckets.TryTake(T0, 100));
        Assert.Null(buckets.TryTake(T0, 100));
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), buckets.TryTake(T0, 100));
        // A quiet spell refills to the burst, never beyond.
        var later = T0 + TimeSpan.FromMinutes(5);
        Assert.Null(buckets.TryTake(later, 0));
        Assert.Equal(300, buckets.TokenLevel, 6);
    }

    [Fact]
    public void A_cost_above_tokens_burst_leaves_once_the_bucket_is_full_and_the_next_waits_for_the_debt()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 6000, Tick, T0, tokensBurst: 300);
        Assert.Null(buckets.TryTake(T0, 100));
        // 200 left; 1,000 needs a full bucket (300): 1 s.
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), buckets.TryTake(T0, 1_000));
        Assert.Null(buckets.TryTake(T0 + TimeSpan.FromSeconds(1), 1_000));
        Assert.Equal(-700, buckets.TokenLevel, 6);
        // 700 of debt + 100 for the next: 8 s at 100/s.
        Assert.Equal(T0 + TimeSpan.FromSeconds(9), buckets.TryTake(T0 + TimeSpan.FromSeconds(1), 100));
    }

    [Fact]
    public void Changing_the_token_rate_keeps_tokens_burst_and_never_refills()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 6000, Tick, T0, tokensBurst: 300);
        Assert.Null(buckets.TryTake(T0, 250));
        buckets.SetTokensPerMinute(T0, 600);
        Assert.Equal(300, buckets.TokenCapacity);
        Assert.Equal(50, buckets.TokenLevel, 6);
        // 50 more at 10/s.
        Assert.Equal(T0 + TimeSpan.FromSeconds(5), buckets.TryTake(T0, 100));
        buckets.SetTokensPerMinute(T0 + TimeSpan.FromMinutes(10), 60_000);
        Assert.Equal(300, buckets.TokenLevel, 6);
    }

    [Fact]
    public void Without_tokens_burst_the_capacity_is_a_second_of_the_token_rate_in_force()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 6000, Tick, T0);
        Assert.Equal(100, buckets.TokenCapacity);
        Assert.Equal(100, buckets.TokenLevel, 6);
        // Seeded down (a number configured too high): the capacity follows, and what the bucket held beyond it goes.
        buckets.SetTokensPerMinute(T0, 600);
        Assert.Equal(10, buckets.TokenCapacity);
        Assert.Equal(10, buckets.TokenLevel, 6);
        buckets.SetTokensPerMinute(T0, 0);
        Assert.Equal(0, buckets.TokenCapacity);
        // From no limit to a limit: the bucket starts full at its capacity.
        var withBurst = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 0, Tick, T0, tokensBurst: 300);
        withBurst.SetTokensPerMinute(T0, 6000);
        Assert.Equal(300, withBurst.TokenLevel, 6);
    }

    [Fact]
    public void Refunds_never_fill_the_bucket_beyond_tokens_burst()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 100, tokensPerMinute: 6000, Tick, T0, tokensBurst: 300);
        Assert.Null(buckets.TryTake(T0, 300));
        buckets.Refund(T0, 1_000);
        Assert.Equal(300, buckets.TokenLevel, 6);
    }

    [Fact]
    public void Emptying_leaves_only_what_accrues_afterwards_and_keeps_a_token_debt()
    {
        var buckets = new ThrottleBuckets(rate: 10, burst: 5, tokensPerMinute: 6000, Tick, T0, tokensBurst: 300);
        buckets.Empty(T0);
        Assert.Equal(0, buckets.RequestLevel, 6);
        Assert.Equal(0, buckets.TokenLevel, 6);
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(100), buckets.TryTake(T0, 0));
        Assert.Null(buckets.TryTake(T0 + TimeSpan.FromMilliseconds(500), 50));
        // 5 requests accrued in 0.5 s, one taken; 50 tokens accrued, 50 taken.
        Assert.Equal(4, buckets.RequestLevel, 6);
        Assert.Equal(0, buckets.TokenLevel, 6);
        Assert.Null(buckets.TryTake(T0 + TimeSpan.FromSeconds(4), 1_000));
        buckets.Empty(T0 + TimeSpan.FromSeconds(4));
        Assert.Equal(-700, buckets.TokenLevel, 6);
    }

    [Fact]
    public void A_tokens_burst_below_1_is_refused() =>
        Assert.ThrowsAny<ArgumentException>(() => new ThrottleBuckets(1, 1, 6000, Tick, T0, tokensBurst: 0));

    /// <summary>A token-rate change or an element's cost at an instant of a simulated run.</summary>
    public sealed record TokenStep(int AtMs, long TokensPerMinute, long Cost);

    private static Arbitrary<(TokenStep[] Steps, long Burst)> TokenRuns() =>
        (from steps in (from at in Gen.Choose(0, 5000)
                        from tpm in Gen.Choose(600, 120_000)
                        from cost in Gen.Choose(1, 4000)
                        select new TokenStep(at, tpm, cost)).ArrayOf()
         from burst in Gen.Choose(1, 3000)
         select (steps.OrderBy(s => s.AtMs).ToArray(), (long)burst))
            .ToArbitrary();

    /// <summary>
    /// The token guarantee with debt: an element waits on every tick until the bucket lets it go, token rates change at
    /// random instants; over any window, tokens released ≤ ∫tokens-per-minute/60·dt + max(tokens-burst, largest cost).
    /// </summary>
    [Property(MaxTest = 150)]
    public Property Over_any_window_tokens_released_never_exceed_the_integral_of_the_token_rate_plus_the_larger_of_burst_and_cost()
    {
        return Prop.ForAll(TokenRuns(), run =>
        {
            var (steps, burst) = run;
            const int duration = 6000;
            var buckets = new ThrottleBuckets(rate: 1_000_000, burst: 1_000_000, tokensPerMinute: 60_000, Tick, T0, tokensBurst: burst);
            var costs = steps.Select(s => s.Cost).DefaultIfEmpty(1).ToArray();
            var rateAt = new double[duration + 1];
            var releasedAt = new long[duration + 1];
            var next = 0;
            var costIndex = 0;
            for (var ms = 0; ms <= duration; ms++)
            {
                var now = T0 + TimeSpan.FromMilliseconds(ms);
                while (next < steps.Length && steps[next].AtMs <= ms)
                {
                    buckets.SetTokensPerMinute(now, steps[next].TokensPerMinute);
                    next++;
                }
                rateAt[ms] = buckets.TokensPerMinute / 60_000.0;
                while (buckets.TryTake(now, costs[costIndex % costs.Length]) is null)
                {
                    releasedAt[ms] += costs[costIndex % costs.Length];
                    costIndex++;
                }
            }
            var bound = Math.Max(burst, costs.Max());
            foreach (var window in new[] { 1, 100, 1000, 3000 })
            {
                for (var start = 0; start + window <= duration; start += 25)
                {
                    var end = start + window;
                    long tokens = 0;
                    double integral = 0;
                    for (var ms = start; ms <= end; ms++)
                    {
                        tokens += releasedAt[ms];
                        integral += ms < end ? rateAt[ms] : 0;
                    }
                    if (tokens > integral + bound + 1e-6)
                    {
                        return false.Label($"window [{start},{end}] released {tokens} tokens > {integral:0.###} + {bound}");
                    }
                }
            }
            return true.ToProperty();
        });
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-1, 1)]
    [InlineData(double.NaN, 1)]
    [InlineData(double.PositiveInfinity, 1)]
    [InlineData(1, 0)]
    public void Invalid_rate_or_burst_is_refused(double rate, int burst) =>
        Assert.ThrowsAny<ArgumentException>(() => new ThrottleBuckets(rate, burst, 0, Tick, T0));

    /// <summary>A change applied at an instant of a simulated run.</summary>
    public sealed record Change(int AtMs, double Rate, int Burst);

    private static Arbitrary<Change[]> Changes() =>
        (from at in Gen.Choose(0, 2000)
         from rate in Gen.Choose(1, 2000)
         from burst in Gen.Choose(1, 40)
         select new Change(at, rate / 2.0, burst))
            .ArrayOf()
            .Select(a => a.OrderBy(c => c.AtMs).ToArray())
            .ToArbitrary();

    /// <summary>
    /// Runs the buckets the way the stage does, with an unbounded backlog: when an element must wait, a timer is set
    /// for its due instant; the timer fires on the next 10 ms tick at or after it, plus a seeded random extra delay of
    /// up to <paramref name="maxExtraTicks"/> ticks (a busy scheduler); the firing reports its lateness and releases
    /// until a wait is returned. Returns release instants (ms) and the rate/capacity in force during each millisecond.
    /// </summary>
    private static (List<double> Releases, double[] RateAt, double[] CapacityAt) Simulate(Change[] changes, double rate, int burst, int durationMs, int maxExtraTicks = 0, int seed = 1)
    {
        var random = new Random(seed);
        var buckets = new ThrottleBuckets(rate, burst, 0, Tick, T0);
        var releases = new List<double>();
        var rateAt = new double[durationMs + 1];
        var capAt = new double[durationMs + 1];
        var next = 0;
        int? fireAtMs = 0;
        DateTimeOffset? dueAt = null;
        for (var ms = 0; ms <= durationMs; ms++)
        {
            var now = T0 + TimeSpan.FromMilliseconds(ms);
            var changed = false;
            while (next < changes.Length && changes[next].AtMs <= ms)
            {
                buckets.SetRate(now, changes[next].Rate);
                buckets.SetBurst(now, changes[next].Burst);
                next++;
                changed = true;
            }
            if (changed)
            {
                // As the stage: a change cancels the timer and re-times the waiting element at once.
                fireAtMs = ms;
                dueAt = null;
            }
            rateAt[ms] = buckets.Rate;
            capAt[ms] = buckets.RequestCapacity;
            if (fireAtMs is { } f && f <= ms)
            {
                if (dueAt is { } due)
                {
                    buckets.ObserveTimerLateness(now - due);
                }
                DateTimeOffset? wait;
                while ((wait = buckets.TryTake(now, 0)) is null)
                {
                    releases.Add(ms);
                }
                dueAt = wait;
                var dueMs = (int)Math.Ceiling((wait!.Value - T0).TotalMilliseconds);
                var tickMs = (dueMs + 9) / 10 * 10;
                fireAtMs = Math.Max(ms + 1, tickMs + 10 * random.Next(maxExtraTicks + 1));
            }
            capAt[ms] = Math.Max(capAt[ms], buckets.RequestCapacity);
        }
        return (releases, rateAt, capAt);
    }

    [Property(MaxTest = 150)]
    public Property Over_any_window_releases_never_exceed_the_integral_of_the_rate_plus_the_capacity()
    {
        return Prop.ForAll(Changes(), changes =>
        {
            const int duration = 2000;
            var (releases, rateAt, capAt) = Simulate(changes, rate: 50, burst: 5, duration, maxExtraTicks: 2);
            foreach (var window in new[] { 10, 50, 100, 500, 1000 })
            {
                for (var start = 0; start + window <= duration; start += 5)
                {
                    var end = start + window;
                    var count = releases.Count(t => t >= start && t <= end);
                    double integral = 0, maxCap = 0;
                    for (var ms = Math.Max(0, start - 1); ms <= end; ms++)
                    {
                        maxCap = Math.Max(maxCap, capAt[ms]);
                    }
                    for (var ms = start; ms < end; ms++)
                    {
                        integral += rateAt[ms] / 1000.0;
                    }
                    if (count > integral + maxCap + 1e-6)
                    {
                        return false.Label($"window [{start},{end}] released {count} > {integral:0.###} + {maxCap:0.###}");
                    }
                }
            }
            return true.ToProperty();
        });
    }

    [Property(MaxTest = 100)]
    public Property With_a_constant_rate_the_full_rate_is_delivered_despite_ticks_and_late_timers(PositiveInt rateSeed, PositiveInt burstSeed, PositiveInt lateSeed)
    {
        var rate = 1 + rateSeed.Get % 2000;
        var burst = 1 + burstSeed.Get % 20;
        var extraTicks = lateSeed.Get % 3; // timers up to two ticks late on top of the tick rounding
        const int duration = 5000;
        var (releases, _, capAt) = Simulate([], rate, burst, duration, extraTicks, seed: lateSeed.Get);
        var expected = rate * duration / 1000.0;
        // Everything that accrued, less what the last timer has not fired for yet (≤ 1 + 3 ticks of accrual)
        // and what the slack had not yet learned in the first firings (≤ 2 ticks).
        var shortfall = 1 + rate * 0.01 * (1 + extraTicks + 2);
        var ok = releases.Count >= expected - shortfall - 1e-6
                 && releases.Count <= expected + capAt.Max() + 1e-6;
        return ok.Label($"rate {rate}/s burst {burst} late ≤ {extraTicks} ticks: {releases.Count} released in {duration} ms, expected ≈ {expected}");
    }

    [Fact]
    public void Timer_lateness_raises_the_capacity_quickly_and_it_decays_slowly()
    {
        var buckets = new ThrottleBuckets(rate: 1000, burst: 1, tokensPerMinute: 0, Tick, T0);
        buckets.ObserveTimerLateness(TimeSpan.FromMilliseconds(8));
        Assert.Equal(TimeSpan.FromMilliseconds(8), buckets.Slack);
        Assert.Equal(19, buckets.RequestCapacity, 6);
        buckets.ObserveTimerLateness(TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromMilliseconds(7.5), buckets.Slack);
        // One very long stall cannot license an unbounded burst.
        buckets.ObserveTimerLateness(TimeSpan.FromSeconds(5));
        Assert.Equal(Tick * ThrottleBuckets.MaxSlackTicks, buckets.Slack);
        buckets.ObserveTimerLateness(TimeSpan.FromMilliseconds(-3));
        Assert.True(buckets.Slack < Tick * ThrottleBuckets.MaxSlackTicks);
    }
}
