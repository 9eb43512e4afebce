using ActorThrottle.Adaptation;
using ActorThrottle.Backend;
using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// <c>requests-per-second = auto</c>: slow start, additive probing, settling under the accepted rate, and seeding from
/// advertised limits, on virtual time (<see cref="VirtualProviderLoop"/>) and on recorded sequences.
/// </summary>
public sealed class RateControllerAutoSpec(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static RateController Auto(string extra = "") => new(RateControllerReplaySpec.Settings($"requests-per-second = auto\n{extra}"));

    private static DateTimeOffset Ms(double ms) => T0 + TimeSpan.FromMilliseconds(ms);

    /// <summary>
    /// Three answers with the same headers (a seed follows the median of at least <see cref="RateController.SeedMinReadings"/>
    /// readings): the first two change nothing; returns the third's decision.
    /// </summary>
    private static RateDecision ObserveThrice(RateController controller, RateLimitInfo headers, double atMs = 0)
    {
        for (var i = 0; i < RateController.SeedMinReadings - 1; i++)
        {
            Assert.Empty(controller.Observe(RateOutcome.Success(Ms(atMs + i), Ms(atMs + i + 50), headers: headers)).Changes);
        }
        return controller.Observe(RateOutcome.Success(Ms(atMs + 2), Ms(atMs + 52), headers: headers));
    }

    [Fact]
    public void Auto_starts_at_the_auto_start_rate_probing()
    {
        var controller = Auto("adapt.auto-start-rate = 3");
        Assert.Equal(3, controller.Settings.Rate);
        Assert.Equal(10, controller.Settings.Burst);
        Assert.Equal(RateOrigin.Probed, controller.Origin);
        Assert.True(controller.InSlowStart);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(100, 300)]
    public void Against_a_provider_that_accepts_100_per_second_auto_reaches_95_within_10_seconds_with_at_most_3_percent_429s(int low, int high)
    {
        foreach (var seed in new[] { 1, 2, 3, 4, 5 })
        {
            var loop = new VirtualProviderLoop(Auto(), _ => 100, providerBurst: 10, (low, high), seed: seed);
            loop.Run(30);
            output.WriteLine($"seed {seed}: {loop.Describe()}");

            Assert.True(loop.FirstSecondAtOrAbove(95) is { } reached && reached <= 10, loop.Describe());
            Assert.True(loop.Goodput(10, 30) >= 95, $"goodput after 10 s {loop.Goodput(10, 30):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare <= 0.03, loop.Describe());
            Assert.Contains(loop.Changes, c => c.Reason == RateChangeReason.SlowStart);
        }
    }

    [Fact]
    public void Slow_start_doubles_per_round_of_successes_then_a_429_ends_it_and_the_rate_settles_under_what_was_accepted()
    {
        var loop = new VirtualProviderLoop(Auto(), _ => 40, providerBurst: 10, (20, 20));
        loop.Run(20);
        output.WriteLine(loop.Describe());

        var slowStart = loop.Changes.TakeWhile(c => c.Reason == RateChangeReason.SlowStart).ToList();
        Assert.True(slowStart.Count >= 3);
        Assert.All(slowStart, c => Assert.Equal(c.Before.Rate * 2, c.After.Rate, 6));
        var settle = loop.Changes.First(c => c.Reason == RateChangeReason.RateLimited);
        Assert.InRange(settle.After.Rate, 0.85 * 40, 40);
        Assert.InRange(loop.Goodput(10, 20), 0.95 * 40, 40.5);
    }

    [Fact]
    public void A_quiet_caller_does_not_earn_a_higher_rate()
    {
        var controller = Auto();
        // One success every 500 ms (2/s offered) while the rate is 5/s: rounds complete, but the rate is not in use.
        var decisions = Enumerable.Range(0, 100).Select(i => controller.Observe(RateOutcome.Success(Ms(i * 500), Ms(i * 500 + 20)))).ToList();

        Assert.DoesNotContain(decisions.SelectMany(d => d.Changes), c => c.Reason == RateChangeReason.SlowStart);
        Assert.Equal(5, controller.Settings.Rate);
    }

    [Fact]
    public void Climbing_latency_ends_slow_start_before_any_429()
    {
        var controller = Auto();
        var decisions = new List<RateDecision>();
        // Rounds of 8 attempts sent at 10/ms spacing: the first rounds answer in 20 ms, then the provider starts queueing (300 ms).
        for (var i = 0; i < 40; i++)
        {
            var latency = i < 8 ? 20 : 300;
            decisions.Add(controller.Observe(RateOutcome.Success(Ms(i * 10), Ms(i * 10 + latency))));
        }

        Assert.False(controller.InSlowStart);
        var last = decisions.SelectMany(d => d.Changes).LastOrDefault();
        Assert.NotNull(last);
        Assert.Equal(RateChangeReason.SlowStart, decisions.SelectMany(d => d.Changes).First().Reason);
    }

    [Fact]
    public void An_advertised_policy_seeds_the_rate_once_and_counts_as_learned()
    {
        var controller = Auto();
        var policy = new RateLimitInfo { Dialect = RateLimitDialect.IetfDraft7, Policies = [new RateLimitPolicy(null, 100, TimeSpan.FromSeconds(1))] };
        var first = ObserveThrice(controller, policy);
        var again = controller.Observe(RateOutcome.Success(Ms(10), Ms(60), headers: policy));

        var seed = Assert.Single(first.Changes);
        Assert.Equal(RateChangeReason.HeaderSeed, seed.Reason);
        Assert.Equal(5, seed.Before.Rate);
        Assert.Equal(100, seed.After.Rate);
        Assert.Contains("RateLimit-Policy", seed.Detail);
        Assert.Empty(again.Changes);
        Assert.Equal(RateOrigin.SeededFromHeaders, controller.Origin);
        Assert.False(controller.InSlowStart);
    }

    [Fact]
    public void A_configured_number_is_a_ceiling_a_seed_never_exceeds_and_a_lower_advertised_limit_lowers_it()
    {
        var policy = (long quota) => new RateLimitInfo { Dialect = RateLimitDialect.IetfDraft7, Policies = [new RateLimitPolicy(null, quota, TimeSpan.FromSeconds(1))] };

        var contract = new RateController(RateControllerReplaySpec.Settings());
        var above = ObserveThrice(contract, policy(100));
        Assert.Empty(above.Changes);
        Assert.Equal(10, contract.Settings.Rate);
        Assert.Equal(RateOrigin.Configured, contract.Origin);

        var tooHigh = new RateController(RateControllerReplaySpec.Settings());
        var below = Assert.Single(ObserveThrice(tooHigh, policy(4)).Changes);
        Assert.Equal(RateChangeReason.HeaderSeed, below.Reason);
        Assert.Equal(4, below.After.Rate);
        Assert.Equal(RateOrigin.SeededFromHeaders, tooHigh.Origin);
    }

    [Fact]
    public void A_configured_number_is_never_exceeded_however_long_everything_succeeds()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings());
        var loop = new VirtualProviderLoop(controller, _ => 1000, providerBurst: 100, (5, 50));
        loop.Run(20);

        Assert.All(loop.RateAtSecond, r => Assert.True(r <= 10));
        Assert.Empty(loop.Changes);
    }

    [Fact]
    public void A_bucket_reading_only_raises_the_rate_at_most_twofold_per_round()
    {
        var controller = Auto();
        // OpenAI bucket read from whole-second resets: (limit - remaining - 0.5) / reset = 59.5/s, a hint, not a measure.
        var rough = (long remaining) => new RateLimitInfo
        {
            Dialect = RateLimitDialect.OpenAI, LimitRequests = 100, RemainingRequests = remaining, ResetRequests = TimeSpan.FromSeconds(1), ResetRequestsGranularity = TimeSpan.FromSeconds(1),
        };
        // Answers 100 ms apart: a raise at most every 250 ms (a slow-start round).
        var changes = Enumerable.Range(0, 16).SelectMany(i => controller.Observe(RateOutcome.Success(Ms(i * 100), Ms(i * 100 + 50), headers: rough(40))).Changes).ToList();
        Assert.All(changes, c => Assert.Equal(RateChangeReason.HeaderSeed, c.Reason));
        Assert.Equal([10, 20, 40, 59.5], changes.Select(c => c.After.Rate));
        Assert.Equal([250, 550, 850, 1150], changes.Select(c => (c.At - T0).TotalMilliseconds));

        // Lower readings (19.5/s) never lower it.
        for (var i = 0; i < 9; i++)
        {
            Assert.Empty(controller.Observe(RateOutcome.Success(Ms(2000 + i * 300), Ms(2050 + i * 300), headers: rough(80))).Changes);
        }
        Assert.Equal(59.5, controller.Settings.Rate, 6);
    }

    /// <summary>
    /// OpenAI headers of a bucket of 100 refilled at 100/s holding <paramref name="remaining"/> and a half (remaining is
    /// floored): the reset is until it is full, in ms.
    /// </summary>
    private static RateLimitInfo OpenAiBucket(long remaining) => new()
    {
        Dialect = RateLimitDialect.OpenAI, LimitRequests = 100, RemainingRequests = remaining, ResetRequests = TimeSpan.FromMilliseconds(10 * (100 - remaining - 0.5)),
    };

    [Theory]
    [InlineData("requests-per-second = 1000", 100)]
    [InlineData("requests-per-second = 200", 100)]
    [InlineData("requests-per-second = 105", 105)]
    [InlineData("requests-per-second = 50", 50)]
    public void A_bucket_its_readings_show_lowers_a_configured_number_to_its_refill_rate_and_caps_growth(string configured, double expected)
    {
        var ceiling = double.Parse(configured.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
        var controller = new RateController(RateControllerReplaySpec.Settings(configured));
        // Drained at 10x its rate, answers 1 ms apart: the deficit goes 10, 11, ... 60.
        var changes = Enumerable.Range(0, 51)
            .SelectMany(i => controller.Observe(RateOutcome.Success(Ms(i), Ms(i), headers: OpenAiBucket(90 - i))).Changes).ToList();

        Assert.Equal(expected, controller.Settings.Rate, 6);
        if (expected < ceiling)
        {
            var seed = Assert.Single(changes);
            Assert.Equal(RateChangeReason.HeaderSeed, seed.Reason);
            Assert.Contains("a bucket", seed.Detail, StringComparison.Ordinal);
            Assert.Equal(RateOrigin.SeededFromHeaders, controller.Origin);
            // Growth stops at the stated refill rate however long everything succeeds.
            for (var i = 0; i < 2000; i++)
            {
                controller.Observe(RateOutcome.Success(Ms(100 + i * 10), Ms(100 + i * 10), headers: OpenAiBucket(90)));
            }
            Assert.Equal(expected, controller.Settings.Rate, 6);
        }
        else
        {
            Assert.Empty(changes);
        }
    }

    [Fact]
    public void An_overload_under_a_buckets_stated_pace_slow_starts_back_to_it_once()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings("requests-per-second = 1000"));
        for (var i = 0; i < 51; i++)
        {
            controller.Observe(RateOutcome.Success(Ms(i), Ms(i), headers: OpenAiBucket(90 - i)));
        }
        Assert.Equal(100, controller.Settings.Rate, 6);
        // A storm under that pace (a bucket that charges rejections, in debt from the opening burst): five 429s 10 ms apart.
        var debt = new RateLimitInfo { Dialect = RateLimitDialect.OpenAI, LimitRequests = 100, RemainingRequests = 0, ResetRequests = TimeSpan.FromMilliseconds(1500), RetryAfter = TimeSpan.FromMilliseconds(500) };
        var storm = Enumerable.Range(0, 5).Select(i => controller.Observe(RateOutcome.RateLimited(Ms(1000 + i * 10), Ms(1005 + i * 10), headers: debt))).ToList();
        var overload = Assert.Single(storm.Where(d => d.Change?.Reason == RateChangeReason.Overload));
        Assert.True(overload.Change!.After.Rate <= 50, $"cut to {overload.Change.After.Rate}");
        Assert.True(controller.InSlowStart);

        // After the pause, offered at 200/s: slow start doubles back to the stated 100/s, and stops there.
        var resume = (storm.SelectMany(d => d.Pauses).Max(p => p.Until) - T0).TotalMilliseconds + 10;
        var back = Enumerable.Range(0, 400).SelectMany(i => controller.Observe(RateOutcome.Success(Ms(resume + i * 5), Ms(resume + i * 5 + 50), headers: OpenAiBucket(90))).Changes).ToList();
        Assert.Contains(back, c => c.Reason == RateChangeReason.SlowStart);
        Assert.Equal(100, controller.Settings.Rate, 6);
        Assert.False(controller.InSlowStart);

        // A second storm under the same pace read: the limit may have dropped under it, so no second slow start.
        var later = resume + 3000;
        var second = Enumerable.Range(0, 5).Select(i => controller.Observe(RateOutcome.RateLimited(Ms(later + i * 10), Ms(later + 5 + i * 10), headers: debt))).ToList();
        Assert.Contains(second, d => d.Change?.Reason == RateChangeReason.Overload);
        Assert.False(controller.InSlowStart);
    }

    [Fact]
    public void Fixed_window_readings_lower_a_configured_number_to_the_windows_pace_and_never_under_it()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings("requests-per-second = 200"));
        // 1 s windows of 100 on the clock, sent into at 200/s: count c at t into the window reads (c - 1/2) / (1 s - t).
        var changes = new List<RateChange>();
        for (var ms = 0; ms < 3000; ms += 5)
        {
            var t = ms % 1000;
            var count = t / 5 + 1;
            if (count >= 100)
            {
                continue;
            }
            var headers = new RateLimitInfo { Dialect = RateLimitDialect.OpenAI, LimitRequests = 100, RemainingRequests = 100 - count, ResetRequests = TimeSpan.FromMilliseconds(1000 - t) };
            changes.AddRange(controller.Observe(RateOutcome.Success(Ms(ms), Ms(ms), headers: headers)).Changes);
        }

        // Read as a bucket, a count over the time left reads up to 200/s and more; read as a window (its end stays put, then
        // moves on by 1 s with the count back up), it is 100 a second: the rate comes down to that once, never under it.
        var change = Assert.Single(changes);
        Assert.Equal(RateChangeReason.HeaderSeed, change.Reason);
        Assert.Contains("a fixed window of 1 s", change.Detail, StringComparison.Ordinal);
        Assert.Equal(100, controller.Settings.Rate, 6);
    }

    [Fact]
    public void A_bucket_reading_lowers_a_configured_number_only_once_it_shows_a_bucket()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings("requests-per-second = 2000"));
        var reading = new RateLimitInfo { Dialect = RateLimitDialect.OpenAI, LimitRequests = 1000, RemainingRequests = 980, ResetRequests = TimeSpan.FromMilliseconds(20) };
        // One deficit, read over 4.5 ms: less than a quarter of the 20 ms reset, so as likely a window's end as a refill.
        var changes = Enumerable.Range(0, 10).SelectMany(i => controller.Observe(RateOutcome.Success(Ms(i / 2.0), Ms(i / 2.0 + 20), headers: reading)).Changes).ToList();
        Assert.Empty(changes);
        Assert.Equal(2000, controller.Settings.Rate);
        // The same reading 6 ms on (over a quarter of the reset) shows a bucket refilled at 975/s: the sender holds its deficit.
        Assert.Equal(975, Assert.Single(controller.Observe(RateOutcome.Success(Ms(6), Ms(26), headers: reading)).Changes).After.Rate);
    }

    [Fact]
    public void Tokens_auto_starts_a_token_limit_at_the_first_advertised_one()
    {
        var controller = Auto("tokens-per-minute = auto");
        Assert.Equal(0, controller.Settings.TokensPerMinute);
        var headers = new RateLimitInfo { Dialect = RateLimitDialect.OpenAI, LimitTokens = 90000 };
        var decision = ObserveThrice(controller, headers);
        var change = Assert.Single(decision.Changes);

        var empty = Assert.Single(decision.Pauses);
        Assert.True(empty.Empty);
        Assert.Equal(Ms(52), empty.Until);
        Assert.Equal(RateChangeReason.HeaderSeed, change.Reason);
        Assert.Equal(90000, change.After.TokensPerMinute);
        Assert.Equal(0, change.Before.TokensPerMinute);
    }

    [Theory]
    [InlineData(180000, true)]
    [InlineData(95000, false)]
    public void A_configured_token_limit_seeded_well_down_empties_the_token_bucket(long configured, bool empties)
    {
        var controller = Auto($"tokens-per-minute = {configured}");
        var decision = ObserveThrice(controller, new RateLimitInfo { Dialect = RateLimitDialect.OpenAI, LimitTokens = 90000 });

        Assert.Equal(90000, Assert.Single(decision.Changes).After.TokensPerMinute);
        // Twice the stated limit: the bucket's burst was counted at that, and the opening sends took the provider's own.
        // Within the seed tolerance (rounding, a known limit) it is the same bucket.
        Assert.Equal(empties, decision.Pauses.Any(p => p.Empty && p.Cause.Contains("came down to the provider's", StringComparison.Ordinal)));
    }

    [Fact]
    public void Tokens_zero_ignores_an_advertised_token_limit()
    {
        var controller = Auto("tokens-per-minute = 0");
        var decision = ObserveThrice(controller, new RateLimitInfo { Dialect = RateLimitDialect.OpenAI, LimitTokens = 90000 });
        Assert.Empty(decision.Changes);
        Assert.Equal(0, controller.Settings.TokensPerMinute);
    }

    [Fact]
    public void After_a_429_a_seed_lowers_the_rate_but_never_raises_it()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings());
        var policy = (long quota) => new RateLimitInfo { Dialect = RateLimitDialect.IetfDraft7, Policies = [new RateLimitPolicy(null, quota, TimeSpan.FromSeconds(1))] };
        Assert.Equal(RateChangeReason.RateLimited, Assert.Single(controller.Observe(RateOutcome.RateLimited(Ms(0), Ms(5))).Changes).Reason);
        var lowered = controller.Settings;

        Assert.Empty(ObserveThrice(controller, policy(100), atMs: 10).Changes);
        Assert.Equal(lowered, controller.Settings);
        // The median of the last nine readings comes down to 3 once they outnumber the 100s.
        var changes = Enumerable.Range(0, RateController.SeedReadings)
            .SelectMany(i => controller.Observe(RateOutcome.Success(Ms(20 + i), Ms(70 + i), headers: policy(3))).Changes).ToList();
        var down = Assert.Single(changes);
        Assert.Equal(RateChangeReason.HeaderSeed, down.Reason);
        Assert.Equal(3, down.After.Rate);
    }

    [Fact]
    public void Noisy_readings_seed_from_their_median_and_one_outlier_changes_nothing()
    {
        var controller = Auto();
        var policy = (long quota) => new RateLimitInfo { Dialect = RateLimitDialect.IetfDraft7, Policies = [new RateLimitPolicy(null, quota, TimeSpan.FromSeconds(1))] };
        var quotas = new long[] { 100, 98, 102, 2000, 99, 101, 100 };
        var changes = quotas.Select((q, i) => controller.Observe(RateOutcome.Success(Ms(i), Ms(i + 20), headers: policy(q)))).SelectMany(d => d.Changes).ToList();

        var seed = Assert.Single(changes);
        Assert.Equal(100, seed.After.Rate);
        Assert.Equal(100, controller.Settings.Rate);
    }
}
