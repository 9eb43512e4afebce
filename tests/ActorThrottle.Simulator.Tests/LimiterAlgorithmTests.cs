using Microsoft.Extensions.Time.Testing;

namespace ActorThrottle.Simulator.Tests;

/// <summary>Every limit algorithm against its definition: exact accept/reject sequences on virtual time.</summary>
public sealed class LimiterAlgorithmTests
{
    // On a whole minute, so clock-aligned windows start here.
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);

    private static ModelSettings With(params LimitSpec[] limits) => new() { Limits = limits };

    private ModelLimiter Limiter(params LimitSpec[] limits) => new(With(limits), _time);

    private void At(double seconds) => _time.SetUtcNow(Start.AddSeconds(seconds));

    /// <summary>Offers one request every <paramref name="step"/> seconds from now for <paramref name="count"/> steps; 'A' admitted, 'r' rejected.</summary>
    private string Offer(ModelLimiter limiter, int count, double step, double tokens = 0)
    {
        var pattern = new char[count];
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                _time.Advance(TimeSpan.FromSeconds(step));
            }

            pattern[i] = limiter.TryAdmit(tokens).Admitted ? 'A' : 'r';
        }

        return new string(pattern);
    }

    // ---- token bucket ----

    [Fact]
    public void Token_bucket_admits_its_burst_at_once_then_one_per_refill_interval()
    {
        var limiter = Limiter(new LimitSpec { Quota = 10, Burst = 3 });
        Assert.Equal("AAAr", Offer(limiter, 4, 0));
        var rejected = limiter.TryAdmit(0);
        Assert.Equal(TimeSpan.FromMilliseconds(100), rejected.RetryAfter);
        Assert.Equal("rrrrrA", Offer(limiter, 6, 0.02));
    }

    [Fact]
    public void Token_bucket_reports_time_until_full_and_until_the_next_unit()
    {
        var limiter = Limiter(new LimitSpec { Quota = 60, Window = TimeSpan.FromMinutes(1) });
        Offer(limiter, 30, 0);
        var facts = limiter.Facts()[0];
        Assert.Equal(30, facts.Remaining);
        Assert.Equal(TimeSpan.FromSeconds(30), facts.Reset);
        Assert.Equal(TimeSpan.Zero, facts.NextAvailable);
        Offer(limiter, 30, 0);
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.Facts()[0].NextAvailable);
    }

    [Fact]
    public void Token_bucket_refill_is_capped_at_its_capacity()
    {
        var limiter = Limiter(new LimitSpec { Quota = 100, Burst = 3 });
        Offer(limiter, 1, 0);
        At(600);
        Assert.Equal(3, limiter.Facts()[0].Remaining);
        Assert.Equal("AAAr", Offer(limiter, 4, 0));
    }

    [Fact]
    public void Token_bucket_charged_rejections_go_into_debt_floored_at_minus_the_capacity()
    {
        var limiter = new ModelLimiter(new ModelSettings { ChargeRejected = true, Limits = [new LimitSpec { Quota = 1, Burst = 2 }] }, _time);
        Assert.Equal("AAr", Offer(limiter, 3, 0));
        // Level −1, and this rejection charged too: −2, three seconds until one unit.
        Assert.Equal(TimeSpan.FromSeconds(3), limiter.TryAdmit(0).RetryAfter);
        Offer(limiter, 10, 0);
        Assert.Equal(TimeSpan.FromSeconds(4), limiter.Facts()[0].Reset);
    }

    [Fact]
    public void A_cost_above_a_token_limit_capacity_is_too_large_and_charged_nothing()
    {
        var limiter = new ModelLimiter(new ModelSettings { ChargeRejected = true, Limits = [new LimitSpec { Unit = LimitUnit.Tokens, Quota = 600, Window = TimeSpan.FromMinutes(1), Burst = 100 }] }, _time);
        var admission = limiter.TryAdmit(101);
        Assert.True(admission.TooLarge);
        Assert.Equal(LimitKind.Tokens, admission.RejectedBy);
        Assert.Equal(0, admission.TokensCharged);
        Assert.Equal(100, limiter.Facts()[0].Remaining);
    }

    // ---- GCRA ----

    [Fact]
    public void Gcra_without_burst_paces_the_quota_evenly_across_the_window()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.Gcra, Quota = 10 });
        // One every 100 ms: offered every 20 ms for a second, exactly every fifth is admitted.
        Assert.Equal("ArrrrArrrrArrrrArrrrArrrrArrrrArrrrArrrrArrrrArrrrA", Offer(limiter, 51, 0.02));
    }

    [Fact]
    public void Gcra_burst_tolerance_admits_that_many_at_once_and_says_when_the_next_fits()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.Gcra, Quota = 10, Burst = 3 });
        Assert.Equal("AAAr", Offer(limiter, 4, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.TryAdmit(0).RetryAfter);
        var facts = limiter.Facts()[0];
        Assert.Equal(0, facts.Remaining);
        Assert.Equal(TimeSpan.FromMilliseconds(300), facts.Reset);
        Assert.Equal(TimeSpan.FromMilliseconds(100), facts.NextAvailable);
    }

    [Fact]
    public void Gcra_with_a_queue_delays_requests_over_the_limit_while_the_delay_fits_and_rejects_beyond()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.Gcra, Quota = 10, MaxDelay = TimeSpan.FromMilliseconds(250) });
        var delays = Enumerable.Range(0, 3).Select(_ => limiter.TryAdmit(0)).ToList();
        Assert.All(delays, a => Assert.True(a.Admitted));
        Assert.Equal(new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200) }, delays.Select(a => a.Delay));
        var fourth = limiter.TryAdmit(0);
        Assert.False(fourth.Admitted);
        Assert.Equal(TimeSpan.FromMilliseconds(300), fourth.RetryAfter);
        At(0.3);
        Assert.Equal(TimeSpan.Zero, limiter.TryAdmit(0).Delay);
    }

    [Fact]
    public void Gcra_charged_rejections_push_the_arrival_time_on_by_at_most_a_window()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.Gcra, Quota = 10, ChargeRejected = true });
        Assert.Equal("Ar", Offer(limiter, 2, 0));
        // The rejection was charged, and so is this one: the arrival time is 0.3 s ahead.
        Assert.Equal(TimeSpan.FromMilliseconds(300), limiter.TryAdmit(0).RetryAfter);
        Offer(limiter, 100, 0);
        // Capped: the arrival time never runs more than burst·T + one window ahead.
        Assert.Equal(TimeSpan.FromMilliseconds(1100), limiter.Facts()[0].Reset);
    }

    // ---- fixed windows ----

    [Fact]
    public void Clock_aligned_fixed_window_admits_the_whole_quota_then_rejects_until_the_boundary()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 5 });
        At(0.5);
        Assert.Equal("AAAAAr", Offer(limiter, 6, 0));
        var rejected = limiter.TryAdmit(0);
        Assert.Equal(TimeSpan.FromMilliseconds(500), rejected.RetryAfter);
        Assert.Equal(TimeSpan.FromMilliseconds(500), rejected.Facts![0].Reset);
        At(1.0);
        Assert.Equal("AAAAAr", Offer(limiter, 6, 0));
    }

    [Fact]
    public void Clock_aligned_fixed_window_lets_twice_the_quota_through_across_a_boundary()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 5 });
        At(0.99);
        Assert.Equal("AAAAA", Offer(limiter, 5, 0));
        At(1.0);
        Assert.Equal("AAAAAr", Offer(limiter, 6, 0));
    }

    [Fact]
    public void Per_minute_clock_window_resets_on_the_minute()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 3, Window = TimeSpan.FromMinutes(1) });
        At(42);
        Assert.Equal("AAAr", Offer(limiter, 4, 0));
        Assert.Equal(TimeSpan.FromSeconds(18), limiter.TryAdmit(0).RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(18), limiter.Facts()[0].Reset);
        At(60);
        Assert.Equal(3, limiter.Facts()[0].Remaining);
    }

    [Fact]
    public void First_hit_window_starts_at_the_first_hit_and_drifts_with_the_traffic()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, WindowStart = WindowStart.FirstHit, Quota = 2 });
        At(0.3);
        Assert.Equal("AAr", Offer(limiter, 3, 0));
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.TryAdmit(0).RetryAfter);
        At(1.29);
        Assert.False(limiter.TryAdmit(0).Admitted);
        At(1.3);
        Assert.True(limiter.TryAdmit(0).Admitted);
        // The new window runs from 1.3 s; nothing arrives until 5 s, when a fresh one starts at that hit.
        At(5.0);
        Assert.Equal("AAr", Offer(limiter, 3, 0));
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.Facts()[0].Reset);
    }

    [Fact]
    public void First_hit_window_counts_charged_rejections_without_extending_the_window()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, WindowStart = WindowStart.FirstHit, Quota = 2, ChargeRejected = true });
        Assert.Equal("AArrr", Offer(limiter, 5, 0.1));
        At(1.0);
        Assert.Equal("AA", Offer(limiter, 2, 0));
    }

    [Fact]
    public void A_refund_inside_the_window_gives_tokens_back()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Unit = LimitUnit.Tokens, Quota = 100, Window = TimeSpan.FromMinutes(1) });
        Assert.True(limiter.TryAdmit(80).Admitted);
        Assert.False(limiter.TryAdmit(30).Admitted);
        limiter.Refund(50);
        Assert.True(limiter.TryAdmit(30).Admitted);
        Assert.Equal(40, limiter.Facts()[0].Remaining);
    }

    // ---- sliding log ----

    [Fact]
    public void Sliding_log_admits_while_fewer_than_the_quota_lie_in_the_last_window()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.SlidingLog, Quota = 3 });
        Assert.Equal("AAAr", Offer(limiter, 4, 0.2));
        // At 0.6 s: the oldest hit (0 s) leaves at 1.0 s.
        Assert.Equal(TimeSpan.FromMilliseconds(400), limiter.TryAdmit(0).RetryAfter);
        At(0.99);
        Assert.False(limiter.TryAdmit(0).Admitted);
        At(1.0);
        Assert.True(limiter.TryAdmit(0).Admitted);
        Assert.False(limiter.TryAdmit(0).Admitted);
        var facts = limiter.Facts()[0];
        Assert.Equal(0, facts.Remaining);
        Assert.Equal(TimeSpan.FromSeconds(1), facts.Reset);
        Assert.Equal(TimeSpan.FromMilliseconds(200), facts.NextAvailable);
    }

    [Fact]
    public void Sliding_log_with_charged_rejections_stays_shut_while_hits_keep_coming()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.SlidingLog, Quota = 2, ChargeRejected = true });
        // Every rejected hit is logged too: offered every 0.4 s, only the first two ever get in.
        Assert.Equal("AArrrrrrrr", Offer(limiter, 10, 0.4));
    }

    // ---- sliding-window counter ----

    [Fact]
    public void Sliding_window_counter_weights_the_previous_window_by_its_remaining_share()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.SlidingWindowCounter, Quota = 10 });
        Assert.Equal("AAAAAAAAAA", Offer(limiter, 10, 0.05));
        At(1.5);
        // Estimate 10 · 0.5 + 0 = 5: five more fit.
        Assert.Equal("AAAAAr", Offer(limiter, 6, 0));
        // Previous 10, current 5: room for one when 10 · (1 − f) ≤ 4, at f = 0.6.
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.TryAdmit(0).RetryAfter);
        At(1.6);
        Assert.Equal("Ar", Offer(limiter, 2, 0));
    }

    [Fact]
    public void Sliding_window_counter_forgets_windows_older_than_the_previous_one()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.SlidingWindowCounter, Quota = 4 });
        Assert.Equal("AAAAr", Offer(limiter, 5, 0));
        At(2.0);
        Assert.Equal("AAAAr", Offer(limiter, 5, 0));
        // A full current window: the next fits only once it decays in the next window, 1 − 3/4 = 25 % in.
        Assert.Equal(TimeSpan.FromMilliseconds(1250), limiter.TryAdmit(0).RetryAfter);
    }

    // ---- concurrency ----

    [Fact]
    public void Concurrency_limit_admits_that_many_in_flight_and_rejects_with_no_hint_until_one_is_released()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.Concurrency, Quota = 2 });
        var first = limiter.TryAdmit(0);
        Assert.True(first.HoldsConcurrency);
        Assert.True(limiter.TryAdmit(0).Admitted);
        var third = limiter.TryAdmit(0);
        Assert.False(third.Admitted);
        Assert.Equal(LimitKind.Concurrency, third.RejectedBy);
        Assert.Equal(TimeSpan.Zero, third.RetryAfter);
        At(3600);
        Assert.False(limiter.TryAdmit(0).Admitted);
        limiter.Release();
        Assert.True(limiter.TryAdmit(0).Admitted);
    }

    [Fact]
    public void A_request_rejected_by_another_limit_takes_no_concurrency_slot()
    {
        var limiter = Limiter(new LimitSpec { Algorithm = LimitAlgorithm.Concurrency, Quota = 1 }, new LimitSpec { Quota = 1 });
        Assert.True(limiter.TryAdmit(0).Admitted);
        limiter.Release();
        var rejected = limiter.TryAdmit(0);
        Assert.Equal(LimitKind.Requests, rejected.RejectedBy);
        Assert.False(rejected.HoldsConcurrency);
        At(1);
        Assert.True(limiter.TryAdmit(0).Admitted);
    }

    // ---- several limits ----

    [Fact]
    public void Per_second_and_per_minute_limits_both_hold_and_the_wait_is_the_longer_one()
    {
        var limiter = Limiter(
            new LimitSpec { Quota = 10 },
            new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 15, Window = TimeSpan.FromMinutes(1) });
        Assert.Equal("AAAAAAAAAAr", Offer(limiter, 11, 0));
        At(1);
        Assert.Equal("AAAAAr", Offer(limiter, 6, 0));
        var rejected = limiter.TryAdmit(0);
        Assert.Equal(TimeSpan.FromSeconds(59), rejected.RetryAfter);
        Assert.Equal("requests per min (RPM)", rejected.LimitName);
    }

    [Fact]
    public void Requests_and_tokens_at_once_reject_by_whichever_runs_out()
    {
        var limiter = Limiter(
            new LimitSpec { Quota = 100 },
            new LimitSpec { Algorithm = LimitAlgorithm.SlidingLog, Unit = LimitUnit.Tokens, Quota = 1000, Window = TimeSpan.FromMinutes(1) });
        Assert.True(limiter.TryAdmit(900).Admitted);
        var rejected = limiter.TryAdmit(200);
        Assert.Equal(LimitKind.Tokens, rejected.RejectedBy);
        Assert.Equal("tokens per min (TPM)", rejected.LimitName);
        Assert.Equal(TimeSpan.FromMinutes(1), rejected.RetryAfter);
        Assert.True(limiter.TryAdmit(100).Admitted);
    }

    [Fact]
    public void Each_limit_charges_rejections_by_its_own_setting_over_the_model_default()
    {
        var limiter = new ModelLimiter(new ModelSettings
        {
            ChargeRejected = true,
            Limits =
            [
                new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 1, Window = TimeSpan.FromSeconds(10) },
                new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 3, Window = TimeSpan.FromMinutes(1), ChargeRejected = false },
            ],
        }, _time);
        Assert.Equal("Arrr", Offer(limiter, 4, 0));
        var facts = limiter.Facts();
        Assert.Equal(0, facts[0].Remaining);
        // The per-minute limit did not count the three rejections.
        Assert.Equal(2, facts[1].Remaining);
    }

    [Fact]
    public void Shorthand_settings_become_token_buckets_ahead_of_the_listed_limits()
    {
        var specs = ModelLimiter.SpecsOf(new ModelSettings
        {
            RequestsPerSecond = 5,
            RequestsPerMinute = 100,
            RequestsPerMinuteBurst = 10,
            TokensPerMinute = 6000,
            Limits = [new LimitSpec { Algorithm = LimitAlgorithm.Concurrency, Quota = 4 }],
        });
        Assert.Equal(
            new (LimitAlgorithm, LimitUnit, double, double, double?)[]
            {
                (LimitAlgorithm.TokenBucket, LimitUnit.Requests, 5, 1, null), (LimitAlgorithm.TokenBucket, LimitUnit.Requests, 100, 60, 10),
                (LimitAlgorithm.TokenBucket, LimitUnit.Tokens, 6000, 60, null), (LimitAlgorithm.Concurrency, LimitUnit.Requests, 4, 1, null),
            },
            specs.Select(s => (s.Algorithm, s.Unit, s.Quota, s.Window.TotalSeconds, s.Burst)));
    }

    // ---- changes while running ----

    [Fact]
    public void Rescaling_lowers_every_quota_without_refilling_and_raising_restores_it()
    {
        var limiter = Limiter(new LimitSpec { Quota = 10 }, new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 100, Window = TimeSpan.FromMinutes(1) });
        Offer(limiter, 8, 0);
        limiter.Rescale(0.4);
        var facts = limiter.Facts();
        Assert.Equal((4.0, 2L), (facts[0].Quota, facts[0].Remaining));
        Assert.Equal((40.0, 32L), (facts[1].Quota, facts[1].Remaining));
        At(10);
        Assert.Equal(4, limiter.Facts()[0].Remaining);
        limiter.Rescale(1);
        Assert.Equal(10.0, limiter.Facts()[0].Quota);
    }

    [Fact]
    public void Reconfiguring_keeps_the_state_of_a_limit_that_stays_and_starts_new_ones_whole()
    {
        var settings = With(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 5 });
        var limiter = new ModelLimiter(settings, _time);
        Offer(limiter, 5, 0);
        limiter.Reconfigure(With(new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 6 }, new LimitSpec { Algorithm = LimitAlgorithm.SlidingLog, Quota = 1 }));
        var facts = limiter.Facts();
        Assert.Equal(1, facts[0].Remaining);
        Assert.Equal(1, facts[1].Remaining);
        limiter.Reconfigure(With(new LimitSpec { Algorithm = LimitAlgorithm.SlidingLog, Quota = 6 }));
        Assert.Equal(6, limiter.Facts()[0].Remaining);
    }

    // ---- the scripted schedule ----

    [Fact]
    public void A_schedule_drops_the_limit_runs_an_outage_and_comes_back_measured_from_the_first_request()
    {
        var runtime = new ModelRuntime("m", new ModelSettings
        {
            Limits = [new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 10 }],
            Schedule =
            [
                new ScheduleStep { At = TimeSpan.FromSeconds(10), Factor = 0.4 },
                new ScheduleStep { At = TimeSpan.FromSeconds(20), OutageStatus = 529 },
                new ScheduleStep { At = TimeSpan.FromSeconds(50), Factor = 1 },
            ],
        }, _time, _time.GetTimestamp(), 100);
        At(100);
        string Second() => new(Enumerable.Range(0, 11).Select(_ => runtime.Decide(1, 1).Outcome switch
        {
            Outcome.Success => 'A',
            Outcome.RateLimited => 'r',
            Outcome.Outage => 'o',
            _ => '?',
        }).ToArray());

        Assert.Equal("AAAAAAAAAAr", Second());
        At(110);
        Assert.Equal("AAAArrrrrrr", Second());
        At(120);
        var outage = runtime.Decide(1, 1);
        Assert.Equal(Outcome.Outage, outage.Outcome);
        Assert.Equal(529, outage.OutageStatus);
        At(149.9);
        Assert.Equal(Outcome.Outage, runtime.Decide(1, 1).Outcome);
        At(150);
        Assert.Equal("AAAAAAAAAAr", Second());
    }

    [Fact]
    public void Changing_the_schedule_while_running_applies_the_new_step_factor()
    {
        var settings = new ModelSettings
        {
            Limits = [new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 10 }],
            Schedule = [new ScheduleStep { At = TimeSpan.Zero, Factor = 0.4 }],
        };
        var runtime = new ModelRuntime("m", settings, _time, _time.GetTimestamp(), 100);
        int Admitted() => Enumerable.Range(0, 12).Count(_ => runtime.Decide(1, 1).Outcome == Outcome.Success);

        Assert.Equal(4, Admitted());
        // Same step index, another factor: the new one must be applied, not the old one kept.
        runtime.Update(settings with { Schedule = [new ScheduleStep { At = TimeSpan.Zero, Factor = 0.8 }] });
        At(1);
        Assert.Equal(8, Admitted());
        runtime.Update(settings with { Schedule = [] });
        At(2);
        Assert.Equal(10, Admitted());
    }

    [Fact]
    public void A_gcra_queue_delay_is_added_to_the_reply_latency()
    {
        var runtime = new ModelRuntime("m", new ModelSettings
        {
            Latency = TimeSpan.FromMilliseconds(50),
            Limits = [new LimitSpec { Algorithm = LimitAlgorithm.Gcra, Quota = 10, MaxDelay = TimeSpan.FromSeconds(1) }],
        }, _time, _time.GetTimestamp(), 100);
        Assert.Equal(TimeSpan.FromMilliseconds(50), runtime.Decide(1, 1).Latency);
        Assert.Equal(TimeSpan.FromMilliseconds(150), runtime.Decide(1, 1).Latency);
    }

    // ---- validation ----

    [Theory]
    [InlineData(0, LimitAlgorithm.TokenBucket, 1, null, 0, "Limits[0].Quota")]
    [InlineData(5, LimitAlgorithm.FixedWindow, 0, null, 0, "Limits[0].Window")]
    [InlineData(5, LimitAlgorithm.Gcra, 1, 0.5, 0, "Limits[0].Burst")]
    [InlineData(5, LimitAlgorithm.SlidingLog, 1, null, 100, "Limits[0].MaxDelay")]
    [InlineData(2.5, LimitAlgorithm.Concurrency, 1, null, 0, "Limits[0]: a concurrency limit")]
    public void Invalid_limits_are_refused_naming_the_field(double quota, LimitAlgorithm algorithm, double windowSeconds, double? burst, int maxDelayMs, string expected)
    {
        var settings = With(new LimitSpec { Quota = quota, Algorithm = algorithm, Window = TimeSpan.FromSeconds(windowSeconds), Burst = burst, MaxDelay = TimeSpan.FromMilliseconds(maxDelayMs) });
        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void Schedule_steps_must_be_in_order_with_positive_factors_and_known_outage_statuses()
    {
        Assert.Contains("Schedule[1].At must be later", Assert.Throws<ArgumentException>(new ModelSettings
        {
            Schedule = [new ScheduleStep { At = TimeSpan.FromSeconds(5) }, new ScheduleStep { At = TimeSpan.FromSeconds(5) }],
        }.Validate).Message);
        Assert.StartsWith("Schedule[0].Factor", Assert.Throws<ArgumentException>(new ModelSettings { Schedule = [new ScheduleStep { Factor = 0 }] }.Validate).Message);
        Assert.StartsWith("Schedule[0].OutageStatus", Assert.Throws<ArgumentException>(new ModelSettings { Schedule = [new ScheduleStep { OutageStatus = 429 }] }.Validate).Message);
    }
}
