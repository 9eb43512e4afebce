using ActorThrottle.Adaptation;
using ActorThrottle.Configuration;
using ActorThrottle.Limits;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>Limits set at run time are an input of the pure rate controller: new ceilings and bounds, on virtual time.</summary>
public sealed class RateControllerLimitsSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset Ms(double ms) => T0 + TimeSpan.FromMilliseconds(ms);

    private static ModelSettings With(ModelSettings current, ModelLimits limits)
    {
        var (next, error) = limits.ApplyTo(current, builtMaxInFlight: 1000, builtQueueSize: 100_000);
        Assert.Null(error);
        return next!;
    }

    /// <summary><paramref name="count"/> successes sent every <paramref name="everyMs"/> from <paramref name="fromMs"/>.</summary>
    private static List<RateDecision> Successes(RateController controller, int count, double fromMs, double everyMs) =>
        Enumerable.Range(0, count).Select(i => controller.Observe(RateOutcome.Success(Ms(fromMs + i * everyMs), Ms(fromMs + i * everyMs + 20)))).ToList();

    [Fact]
    public void A_lower_ceiling_takes_the_rate_down_at_once_as_one_change_with_reason_limits_set()
    {
        var settings = RateControllerReplaySpec.Settings();
        var controller = new RateController(settings);
        Assert.Equal(10, controller.Settings.Rate);

        var decision = controller.SetLimits(With(settings, new ModelLimits { RequestsPerSecond = 4, MaxBurst = 3 }), Ms(0));

        var change = Assert.Single(decision.Changes);
        Assert.Equal(RateChangeReason.LimitsSet, change.Reason);
        Assert.Equal(new ThrottleSettings(10, 10, 0), change.Before);
        Assert.Equal(new ThrottleSettings(4, 3, 0), change.After);
        Assert.Contains("requests-per-second 10 -> 4", change.Detail);
        Assert.Empty(decision.Pauses);
        Assert.Equal(RateOrigin.Configured, controller.Origin);
        // The new ceiling holds: successes never take the rate or the burst above it.
        Assert.All(Successes(controller, 500, 10, 10), d => Assert.Empty(d.Changes));
        Assert.Equal(new ThrottleSettings(4, 3, 0), controller.Settings);
    }

    [Fact]
    public void A_higher_ceiling_is_followed_at_once_by_a_rate_at_the_old_one()
    {
        var settings = RateControllerReplaySpec.Settings();
        var controller = new RateController(settings);

        var decision = controller.SetLimits(With(settings, new ModelLimits { RequestsPerSecond = 25, MaxBurst = 20 }), Ms(0));

        Assert.Equal(new ThrottleSettings(25, 20, 0), Assert.Single(decision.Changes).After);
    }

    [Fact]
    public void A_rate_that_429s_held_below_the_old_ceiling_stays_and_grows_towards_the_new_one()
    {
        // Burst at its floor: a 429 cuts the rate (10 -> 5).
        var settings = RateControllerReplaySpec.Settings("max-burst = 1\nmin-burst = 1\nadapt.settle-fraction = 0");
        var controller = new RateController(settings);
        controller.Observe(RateOutcome.RateLimited(Ms(0), Ms(10)));
        Assert.Equal(5, controller.Settings.Rate);

        var decision = controller.SetLimits(With(settings, new ModelLimits { RequestsPerSecond = 20 }), Ms(1000));
        Assert.Empty(decision.Changes);
        Assert.Equal(5, controller.Settings.Rate);

        // increase-after = 20, increase-step = 1: 20 successes per step; 15 steps reach 20, and no further.
        var grown = Successes(controller, 20 * 20, 2000, 5).SelectMany(d => d.Changes).ToList();
        Assert.Equal(20, controller.Settings.Rate);
        Assert.Equal(15, grown.Count);
        Assert.All(grown, c => Assert.Equal(RateChangeReason.Probe, c.Reason));
    }

    [Fact]
    public void From_auto_to_a_number_slow_start_ends_and_the_number_is_the_ceiling()
    {
        var settings = RateControllerReplaySpec.Settings("requests-per-second = auto\nadapt.auto-start-rate = 8");
        var controller = new RateController(settings);
        Assert.True(controller.InSlowStart);

        var decision = controller.SetLimits(With(settings, new ModelLimits { RequestsPerSecond = 3 }), Ms(0));

        Assert.Equal(3, Assert.Single(decision.Changes).After.Rate);
        Assert.False(controller.InSlowStart);
        Assert.Equal(RateOrigin.Configured, controller.Origin);
        Successes(controller, 400, 10, 10);
        Assert.Equal(3, controller.Settings.Rate);
    }

    [Fact]
    public void From_a_number_to_auto_the_ceiling_goes_and_slow_start_probes_up_from_the_current_rate()
    {
        var settings = RateControllerReplaySpec.Settings();
        var controller = new RateController(settings);

        var decision = controller.SetLimits(With(settings, new ModelLimits { AutoRate = true }), Ms(0));

        Assert.Same(RateDecision.None, decision);          // the rate goes on from where it is
        Assert.True(controller.InSlowStart);
        Assert.Equal(RateOrigin.Probed, controller.Origin);
        // Successes offered at 50/s (the rate is in use): slow start doubles it per round.
        var changes = Successes(controller, 200, 10, 20).SelectMany(d => d.Changes).ToList();
        Assert.Contains(changes, c => c.Reason == RateChangeReason.SlowStart && c.After.Rate > 10);
    }

    [Fact]
    public void After_a_429_switching_to_auto_does_not_restart_slow_start()
    {
        var settings = RateControllerReplaySpec.Settings();
        var controller = new RateController(settings);
        // After the first answer: a 429 of the opening burst would leave slow start alone.
        controller.Observe(RateOutcome.Success(Ms(0), Ms(5)));
        controller.Observe(RateOutcome.RateLimited(Ms(10), Ms(20)));

        controller.SetLimits(With(settings, new ModelLimits { AutoRate = true }), Ms(100));

        Assert.False(controller.InSlowStart);
    }

    [Fact]
    public void A_token_limit_set_where_there_was_none_starts_with_an_emptied_bucket_and_0_removes_it()
    {
        var settings = RateControllerReplaySpec.Settings("tokens-per-minute = 0");
        var controller = new RateController(settings);
        Assert.Equal(0, controller.Settings.TokensPerMinute);

        var on = controller.SetLimits(With(settings, new ModelLimits { TokensPerMinute = 6000 }), Ms(0));
        Assert.Equal(6000, Assert.Single(on.Changes).After.TokensPerMinute);
        var pause = Assert.Single(on.Pauses);
        Assert.True(pause.Empty);
        Assert.Equal(Ms(0), pause.Until);

        var lower = controller.SetLimits(With(With(settings, new ModelLimits { TokensPerMinute = 6000 }), new ModelLimits { TokensPerMinute = 3000 }), Ms(10));
        Assert.Equal(3000, Assert.Single(lower.Changes).After.TokensPerMinute);
        Assert.Empty(lower.Pauses);

        var off = controller.SetLimits(With(settings, new ModelLimits { TokensPerMinute = 0 }), Ms(20));
        Assert.Equal(0, Assert.Single(off.Changes).After.TokensPerMinute);
        Assert.Equal(0, controller.TokensPerMinute);
    }

    [Fact]
    public void A_min_rate_above_the_current_rate_raises_it_and_the_same_limits_again_change_nothing()
    {
        var settings = RateControllerReplaySpec.Settings("max-burst = 1\nmin-burst = 1\nadapt.settle-fraction = 0");
        var controller = new RateController(settings);
        controller.Observe(RateOutcome.RateLimited(Ms(0), Ms(10)));
        Assert.Equal(5, controller.Settings.Rate);

        var next = With(settings, new ModelLimits { MinRate = 7 });
        Assert.Equal(7, Assert.Single(controller.SetLimits(next, Ms(100)).Changes).After.Rate);
        Assert.Same(RateDecision.None, controller.SetLimits(next, Ms(200)));
    }
}
