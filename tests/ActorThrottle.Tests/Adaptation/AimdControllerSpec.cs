using ActorThrottle.Adaptation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class AimdControllerSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly AimdLimits Limits = new(
        MaxBurst: 16, MinBurst: 1, MaxRate: 10, MinRate: 0.5,
        DecreaseFactor: 0.5, IncreaseStep: 1, IncreaseAfter: 3, CoolDown: TimeSpan.FromSeconds(1));

    [Fact]
    public void It_starts_at_the_configured_burst_and_rate()
    {
        Assert.Equal(new AimdState(16, 10), new AimdController(Limits).State);
    }

    [Fact]
    public void A_429_halves_the_burst_first()
    {
        var aimd = new AimdController(Limits);
        Assert.True(aimd.OnRateLimited(T0));
        Assert.Equal(new AimdState(8, 10), aimd.State);
    }

    [Fact]
    public void Many_429s_within_one_cool_down_count_once()
    {
        var aimd = new AimdController(Limits);
        aimd.OnRateLimited(T0);
        for (var i = 1; i < 50; i++)
        {
            Assert.False(aimd.OnRateLimited(T0 + TimeSpan.FromMilliseconds(i * 10)));
        }
        Assert.Equal(8, aimd.State.Burst);
        Assert.True(aimd.OnRateLimited(T0 + TimeSpan.FromSeconds(1)));
        Assert.Equal(4, aimd.State.Burst);
    }

    [Fact]
    public void Once_the_burst_is_at_its_floor_the_rate_shrinks_down_to_min_rate()
    {
        var aimd = new AimdController(Limits);
        var t = T0;
        for (var i = 0; i < 4; i++, t += Limits.CoolDown)
        {
            aimd.OnRateLimited(t);
        }
        Assert.Equal(new AimdState(1, 10), aimd.State);
        aimd.OnRateLimited(t);
        Assert.Equal(new AimdState(1, 5), aimd.State);
        for (var i = 0; i < 10; i++)
        {
            t += Limits.CoolDown;
            aimd.OnRateLimited(t);
        }
        Assert.Equal(new AimdState(1, 0.5), aimd.State);
        Assert.False(aimd.OnRateLimited(t + Limits.CoolDown));
    }

    [Fact]
    public void A_run_of_successes_grows_the_rate_back_first_then_the_burst()
    {
        var aimd = new AimdController(Limits, new AimdState(1, 8));
        Assert.False(aimd.OnSuccess());
        Assert.False(aimd.OnSuccess());
        Assert.True(aimd.OnSuccess());
        Assert.Equal(new AimdState(1, 9), aimd.State);
        Succeed(aimd, 3);
        Assert.Equal(new AimdState(1, 10), aimd.State);
        Succeed(aimd, 3);
        Assert.Equal(new AimdState(2, 10), aimd.State);
        Succeed(aimd, 3 * 40);
        Assert.Equal(new AimdState(16, 10), aimd.State);
        Assert.False(aimd.OnSuccess());
    }

    [Fact]
    public void A_429_restarts_the_run_of_successes()
    {
        var aimd = new AimdController(Limits);
        aimd.OnRateLimited(T0);
        aimd.OnSuccess();
        aimd.OnSuccess();
        aimd.OnRateLimited(T0 + TimeSpan.FromMilliseconds(10)); // inside the cool-down: no decrease, but the run resets
        Assert.False(aimd.OnSuccess());
        Assert.False(aimd.OnSuccess());
        Assert.True(aimd.OnSuccess());
    }

    [Fact]
    public void A_start_state_outside_the_limits_is_clamped()
    {
        Assert.Equal(new AimdState(16, 0.5), new AimdController(Limits, new AimdState(100, 0.01)).State);
    }

    private static readonly AimdLimits Learning = Limits with { MaxRate = 200, MaxBurst = 16, SettleFraction = 0.97 };

    private static DateTimeOffset AcceptAt(AimdController aimd, DateTimeOffset start, double perSecond, int count)
    {
        var t = start;
        for (var i = 0; i < count; i++)
        {
            t += TimeSpan.FromSeconds(1 / perSecond);
            aimd.OnSuccess(t);
        }
        return t;
    }

    [Fact]
    public void A_429_settles_the_rate_just_under_what_the_provider_was_seen_accepting()
    {
        var aimd = new AimdController(Learning);
        var t = AcceptAt(aimd, T0, perSecond: 120, count: 64);
        Assert.True(aimd.OnRateLimited(t));
        Assert.Equal(8, aimd.State.Burst);
        Assert.Equal(120 * 0.97, aimd.State.Rate, 3);
        Assert.Equal(120, aimd.AcceptedRate(t)!.Value, 3);
    }

    [Fact]
    public void The_learned_rate_never_drops_more_than_the_decrease_factor_in_one_step()
    {
        var aimd = new AimdController(Learning);
        var t = AcceptAt(aimd, T0, perSecond: 10, count: 64);
        aimd.OnRateLimited(t);
        Assert.Equal(100, aimd.State.Rate, 6);
    }

    [Fact]
    public void An_accepted_rate_above_the_current_rate_does_not_raise_it_on_a_429()
    {
        var aimd = new AimdController(Learning, new AimdState(16, 50));
        var t = AcceptAt(aimd, T0, perSecond: 150, count: 64);
        var before = aimd.State;
        aimd.OnRateLimited(t);
        Assert.Equal(new AimdState(8, before.Rate), aimd.State);
    }

    [Fact]
    public void Without_enough_recent_successes_the_rate_falls_back_to_plain_AIMD()
    {
        var aimd = new AimdController(Learning, new AimdState(1, 100));
        AcceptAt(aimd, T0, perSecond: 60, count: 64);
        var before = aimd.State;
        // The samples are more than 30 s old: no estimate, burst at floor → multiplicative decrease.
        aimd.OnRateLimited(T0 + TimeSpan.FromMinutes(5));
        Assert.Equal(new AimdState(1, before.Rate / 2), aimd.State);
        Assert.Null(aimd.AcceptedRate(T0 + TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void A_settle_fraction_of_zero_turns_learning_off()
    {
        var aimd = new AimdController(Learning with { SettleFraction = 0 });
        var t = AcceptAt(aimd, T0, perSecond: 120, count: 64);
        aimd.OnRateLimited(t);
        Assert.Equal(new AimdState(8, 200), aimd.State);
    }

    [Fact]
    public void Above_the_learned_rate_growth_probes_five_times_slower()
    {
        var aimd = new AimdController(Learning with { CoolDown = TimeSpan.Zero });
        var t = AcceptAt(aimd, T0, perSecond: 120, count: 64);
        aimd.OnRateLimited(t);
        var learned = aimd.State.Rate;
        Assert.Equal(120 * 0.97, learned, 3);
        // Past the hold-back of the 429, at the learned rate: 3 successes (increase-after) are not enough, 15 are.
        t += TimeSpan.FromSeconds(5);
        for (var i = 0; i < 14; i++)
        {
            Assert.False(aimd.OnSuccess(t += TimeSpan.FromMilliseconds(10)));
        }
        Assert.True(aimd.OnSuccess(t += TimeSpan.FromMilliseconds(10)));
        Assert.Equal(learned + 1, aimd.State.Rate, 6);
    }

    [Fact]
    public void An_overload_cuts_burst_and_rate_together_whatever_the_cool_down()
    {
        var aimd = new AimdController(Learning);
        Assert.True(aimd.OnRateLimited(T0));
        Assert.Equal(new AimdState(8, 200), aimd.State);
        // Within the cool-down a 429 changes nothing, an overload does: from the state before that 429's step (the same
        // congestion), so the burst is not halved twice and the rate is halved from 200.
        Assert.False(aimd.OnRateLimited(T0 + TimeSpan.FromMilliseconds(10)));
        Assert.True(aimd.OnOverload(T0 + TimeSpan.FromMilliseconds(20)));
        Assert.Equal(new AimdState(8, 100), aimd.State);
        // It counts as the cool-down's decrease.
        Assert.False(aimd.OnRateLimited(T0 + TimeSpan.FromMilliseconds(500)));
        // A later overload (new evidence, after the cool-down) cuts from where the last one left off.
        Assert.True(aimd.OnOverload(T0 + TimeSpan.FromSeconds(2)));
        Assert.Equal(new AimdState(4, 50), aimd.State);
    }

    [Fact]
    public void An_overload_right_after_a_settle_step_cuts_from_the_rate_before_it_and_never_raises_the_rate()
    {
        // No growth in between (increase-after out of reach), so the steps are plain to see.
        var aimd = new AimdController(Learning with { IncreaseAfter = 10_000 }, new AimdState(1, 200));
        var t = AcceptAt(aimd, T0, perSecond: 60, count: 64);
        // The 429 would settle at 0.97 × 60 = 58.2; one step goes at most halfway: 100.
        Assert.True(aimd.OnRateLimited(t));
        Assert.Equal(100, aimd.State.Rate, 6);
        // An overload 10 ms later is the same congestion: half of 200 is where the step already is (the burst, at its
        // floor, stays).
        Assert.False(aimd.OnOverload(t + TimeSpan.FromMilliseconds(10)));
        Assert.Equal(100, aimd.State.Rate, 6);
        // The overload cleared the estimate; with a fresh one, a settle step to 58.2, then an overload within its
        // cool-down: half of 100, the rate before that step.
        t = AcceptAt(aimd, t + TimeSpan.FromSeconds(1), perSecond: 60, count: 64);
        aimd.OnRateLimited(t);
        Assert.Equal(60 * 0.97, aimd.State.Rate, 3);
        Assert.True(aimd.OnOverload(t + TimeSpan.FromMilliseconds(10)));
        Assert.Equal(50, aimd.State.Rate, 6);
    }

    [Fact]
    public void An_overload_cuts_from_the_state_its_rejected_attempts_were_sent_at()
    {
        // Plain AIMD (no learning): 429 steps at 0, 1 and 2 s halve the burst 16 → 8 → 4 → 2.
        var aimd = new AimdController(Limits);
        aimd.OnRateLimited(T0);
        aimd.OnRateLimited(T0 + TimeSpan.FromSeconds(1));
        aimd.OnRateLimited(T0 + TimeSpan.FromSeconds(2));
        Assert.Equal(new AimdState(2, 10), aimd.State);
        // The 429s that make the overload were sent from 0.5 s on: before the steps at 1 and 2 s, at burst 8.
        Assert.True(aimd.OnOverload(T0 + TimeSpan.FromSeconds(2.1), evidenceSince: T0 + TimeSpan.FromSeconds(0.5)));
        Assert.Equal(new AimdState(2, 5), aimd.State); // burst: half of 8 is 4, but never up; rate: half of 10
        // Evidence sent after every step: from the state now.
        Assert.True(aimd.OnOverload(T0 + TimeSpan.FromSeconds(5), evidenceSince: T0 + TimeSpan.FromSeconds(4)));
        Assert.Equal(new AimdState(1, 2.5), aimd.State);
    }

    [Fact]
    public void An_overload_ignores_the_accepted_rate_and_learns_nothing_from_it()
    {
        // The estimate (120/s, e.g. the provider's start bucket) would settle at 116; an overload halves instead.
        var aimd = new AimdController(Learning with { CoolDown = TimeSpan.Zero }, new AimdState(1, 200));
        var t = AcceptAt(aimd, T0, perSecond: 120, count: 64);
        var before = aimd.State;
        Assert.True(aimd.OnOverload(t));
        Assert.Equal(new AimdState(Math.Max(1, before.Burst / 2), 100), aimd.State);
        Assert.Null(aimd.AcceptedRate(t)); // starts afresh
        // Nothing learned: growth back runs at the normal pace (3 successes), not five times slower.
        t += TimeSpan.FromSeconds(5);
        aimd.OnSuccess(t += TimeSpan.FromMilliseconds(10));
        aimd.OnSuccess(t += TimeSpan.FromMilliseconds(10));
        Assert.True(aimd.OnSuccess(t += TimeSpan.FromMilliseconds(10)));
        Assert.Equal(101, aimd.State.Rate, 6);
    }

    [Fact]
    public void After_an_overload_only_successes_of_attempts_sent_since_count_towards_the_estimate()
    {
        var aimd = new AimdController(Learning);
        var t = AcceptAt(aimd, T0, perSecond: 120, count: 64);
        aimd.OnOverload(t);
        // Sent before the overload, answered after it: they would stretch the span over the pause.
        for (var i = 0; i < 20; i++)
        {
            aimd.OnSuccess(t + TimeSpan.FromSeconds(1), t - TimeSpan.FromMilliseconds(i));
        }
        Assert.Null(aimd.AcceptedRate(t + TimeSpan.FromSeconds(1)));
        var after = AcceptAt(aimd, t + TimeSpan.FromSeconds(1), perSecond: 80, count: 16);
        Assert.Equal(80, aimd.AcceptedRate(after)!.Value, 3);
    }

    [Fact]
    public void An_overload_holds_growth_back_for_a_cool_down_and_stops_at_the_floors()
    {
        var aimd = new AimdController(Limits, new AimdState(2, 0.8));
        Assert.True(aimd.OnOverload(T0));
        Assert.Equal(new AimdState(1, 0.5), aimd.State);
        Assert.False(aimd.OnOverload(T0 + TimeSpan.FromSeconds(2)));
        for (var i = 0; i < 10; i++)
        {
            Assert.False(aimd.OnSuccess(T0 + TimeSpan.FromSeconds(2.5)));
        }
        Assert.Equal(new AimdState(1, 0.5), aimd.State);
    }

    [Property]
    public Property With_overloads_the_state_always_stays_within_the_limits(int[] events, PositiveInt stepMs)
    {
        var aimd = new AimdController(Learning);
        var t = T0;
        foreach (var e in events)
        {
            t += TimeSpan.FromMilliseconds(stepMs.Get % 700);
            switch (Math.Abs(e % 3))
            {
                case 0:
                    aimd.OnRateLimited(t);
                    break;
                case 1:
                    aimd.OnOverload(t);
                    break;
                default:
                    aimd.OnSuccess(t);
                    break;
            }
            var s = aimd.State;
            if (s.Burst < Learning.MinBurst || s.Burst > Learning.MaxBurst || s.Rate < Learning.MinRate || s.Rate > Learning.MaxRate)
            {
                return false.Label($"left the limits: {s}");
            }
        }
        return true.ToProperty();
    }

    // No ceiling (requests-per-second = auto), as RateController builds it.
    private static readonly AimdLimits Auto = Limits with { MaxRate = double.PositiveInfinity, IncreaseAfter = 20 };

    [Fact]
    public void A_probe_that_a_429_gave_up_halves_the_next_step_down_to_a_sixteenth_and_one_that_held_doubles_it_back()
    {
        var aimd = new AimdController(Auto, new AimdState(1, 4.5));
        aimd.SetRate(4.5, learned: true);
        Assert.Equal(1, aimd.ProbeStep);
        // Above the learned rate a step takes increase-after (5 at 4.5/s) times five successes.
        Succeed(aimd, 25);
        Assert.Equal(5.5, aimd.State.Rate, 9);

        aimd.SetRate(4.5, learned: true);
        aimd.ProbeFailed();
        Succeed(aimd, 25);
        Assert.Equal(5.0, aimd.State.Rate, 9);

        aimd.SetRate(4.5, learned: true);
        aimd.ProbeFailed();
        Succeed(aimd, 25);
        Assert.Equal(4.75, aimd.State.Rate, 9);

        for (var i = 0; i < 10; i++)
        {
            aimd.ProbeFailed();
        }
        Assert.Equal(1.0 / 16, aimd.ProbeStep, 9);
        aimd.ProbeHeld();
        Assert.Equal(1.0 / 8, aimd.ProbeStep, 9);
        for (var i = 0; i < 10; i++)
        {
            aimd.ProbeHeld();
        }
        Assert.Equal(1, aimd.ProbeStep);
    }

    [Fact]
    public void Below_the_learned_rate_growth_takes_whole_steps_whatever_the_probe_step()
    {
        var aimd = new AimdController(Auto, new AimdState(1, 2));
        aimd.SetRate(4.5, learned: true);
        aimd.ProbeFailed();
        aimd.ProbeFailed();
        aimd.SetRate(2, learned: false);
        // 2/s is under the learned 4.5: recovery at increase-after (3 at 2/s) successes a step of increase-step.
        Succeed(aimd, 3);
        Assert.Equal(3, aimd.State.Rate, 9);
    }

    [Fact]
    public void Right_after_an_overload_a_busy_run_grows_the_rate_before_the_estimate_has_its_sixteen_successes()
    {
        var aimd = new AimdController(Auto, new AimdState(1, 5));
        var t = T0;
        aimd.OnOverload(t);
        Assert.Equal(2.5, aimd.State.Rate, 9);
        t += Auto.CoolDown;
        // Sent at 2.5/s: increase-after at 2.5/s is 3 successes.
        for (var i = 0; i < 3; i++, t += TimeSpan.FromMilliseconds(400))
        {
            aimd.OnSuccess(t + TimeSpan.FromMilliseconds(50), t, onlyWhenUsed: true);
        }
        Assert.Null(aimd.AcceptedRate(t));
        Assert.Equal(3.5, aimd.State.Rate, 9);
    }

    [Fact]
    public void Right_after_an_overload_a_quiet_run_does_not_grow_the_rate()
    {
        var aimd = new AimdController(Auto, new AimdState(1, 5));
        var t = T0;
        aimd.OnOverload(t);
        t += Auto.CoolDown;
        // One send every 2 s, against a rate of 2.5/s: under half of it in use.
        for (var i = 0; i < 12; i++, t += TimeSpan.FromSeconds(2))
        {
            aimd.OnSuccess(t + TimeSpan.FromMilliseconds(50), t, onlyWhenUsed: true);
        }
        Assert.Equal(2.5, aimd.State.Rate, 9);
    }

    [Fact]
    public void Successes_counted_while_something_else_grows_the_rate_do_not_step_it()
    {
        var aimd = new AimdController(Auto, new AimdState(1, 2.5));
        var t = T0;
        for (var i = 0; i < 20; i++, t += TimeSpan.FromMilliseconds(400))
        {
            aimd.OnSuccess(t + TimeSpan.FromMilliseconds(50), t, onlyWhenUsed: true, grow: false);
        }
        Assert.Equal(2.5, aimd.State.Rate, 9);
        // They still count towards the estimate.
        Assert.NotNull(aimd.AcceptedRate(t));
    }

    private static void Succeed(AimdController aimd, int times)
    {
        for (var i = 0; i < times; i++)
        {
            aimd.OnSuccess();
        }
    }

    [Property]
    public Property The_state_always_stays_within_the_limits(bool[] events, PositiveInt stepMs)
    {
        var aimd = new AimdController(Limits);
        var t = T0;
        foreach (var rateLimited in events)
        {
            t += TimeSpan.FromMilliseconds(stepMs.Get % 3000);
            if (rateLimited)
            {
                aimd.OnRateLimited(t);
            }
            else
            {
                aimd.OnSuccess();
            }
            var s = aimd.State;
            if (s.Burst < Limits.MinBurst || s.Burst > Limits.MaxBurst || s.Rate < Limits.MinRate || s.Rate > Limits.MaxRate)
            {
                return false.Label($"left the limits: {s}");
            }
        }
        return true.ToProperty();
    }
}
