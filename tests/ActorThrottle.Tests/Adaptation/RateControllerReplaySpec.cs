using ActorThrottle.Adaptation;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Tests.Configuration;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// Replays recorded sequences of outcomes (each with its instants) through <see cref="RateController"/> and asserts the
/// settings changes and pauses it produced, in order.
/// </summary>
public sealed class RateControllerReplaySpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 3, 0, TimeSpan.Zero);

    internal static ModelSettings Settings(string model = "") =>
        TestConfig.Parse($$"""
            actor-throttle {
              api-key = "k"
              defaults {
                requests-per-second = 10
                max-burst = 10
                min-rate = 0.1
                adapt { cool-down = 250ms, increase-after = 20, increase-step = 1, decrease-factor = 0.5, settle-fraction = 0.97 }
                retry { base-delay = 1s, max-delay = 30s, max-retry-after = 120s }
                {{model}}
              }
            }
            """).Defaults;

    private static DateTimeOffset Ms(double ms) => T0 + TimeSpan.FromMilliseconds(ms);

    internal static List<RateDecision> Replay(RateController controller, IEnumerable<RateOutcome> outcomes) =>
        outcomes.Select(controller.Observe).ToList();

    /// <summary><paramref name="count"/> successes sent every <paramref name="everyMs"/> from <paramref name="fromMs"/>, each answered 50 ms later.</summary>
    private static IEnumerable<RateOutcome> Successes(int count, double fromMs, double everyMs, long cost = 1) =>
        Enumerable.Range(0, count).Select(i => RateOutcome.Success(Ms(fromMs + i * everyMs), Ms(fromMs + i * everyMs + 50), cost));

    private static List<RateChange> Changes(IEnumerable<RateDecision> decisions) =>
        decisions.Where(d => d.Change is not null).Select(d => d.Change!).ToList();

    [Fact]
    public void Successes_at_the_configured_limits_change_nothing()
    {
        var controller = new RateController(Settings());
        var decisions = Replay(controller, Successes(100, 0, 100));
        Assert.All(decisions, d => Assert.Same(RateDecision.None, d));
        Assert.Equal(new ThrottleSettings(10, 10, 0), controller.Settings);
    }

    [Fact]
    public void A_burst_of_429s_after_a_measured_second_halves_the_burst_settles_under_the_accepted_rate_and_counts_once()
    {
        var controller = new RateController(Settings());
        // 40 successes sent at 10/s (the provider accepted 10/s), then three 429s within one cool-down (too few for an overload).
        var recorded = Successes(40, 0, 100)
            .Concat(Enumerable.Range(0, 3).Select(i => RateOutcome.RateLimited(Ms(3950 + i * 10), Ms(4000 + i * 10))));
        var changes = Changes(Replay(controller, recorded));

        var change = Assert.Single(changes);
        Assert.Equal(RateChangeReason.RateLimited, change.Reason);
        Assert.Equal(Ms(4000), change.At);
        Assert.Equal(new ThrottleSettings(10, 10, 0), change.Before);
        Assert.Equal(5, change.After.Burst);
        Assert.Equal(9.7, change.After.Rate, 3);
        Assert.Contains("accepting 10/s", change.Detail);
    }

    [Fact]
    public void Successes_after_the_cool_down_probe_back_up_additively()
    {
        var controller = new RateController(Settings());
        var recorded = Successes(40, 0, 100)
            .Append(RateOutcome.RateLimited(Ms(3950), Ms(4000)))
            // Within the cool-down: held back. After it: a run of successes grows the rate back by increase-step, capped at
            // the configured 10. At 10/s a step takes one second's worth (10, not increase-after's 20), five times as many
            // above the learned 9.7 (probing).
            .Concat(Successes(150, 4300, 100));
        var changes = Changes(Replay(controller, recorded));

        Assert.Equal([RateChangeReason.RateLimited, RateChangeReason.Probe, RateChangeReason.Probe, RateChangeReason.Probe], changes.Select(c => c.Reason));
        Assert.Equal([9.7, 10, 10, 10], changes.Select(c => Math.Round(c.After.Rate, 3)));
        Assert.Equal([5, 5, 6, 7], changes.Select(c => c.After.Burst));
        // At the learned rate growth probes: each step needs 5 x 10 = 50 successes (sent from 4300 ms, answered 50 ms later).
        Assert.Equal(Ms(4300 + 49 * 100 + 50), changes[1].At);
        Assert.Equal(Ms(4300 + 99 * 100 + 50), changes[2].At);
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(2.5, 3)]
    [InlineData(9.2, 10)]
    [InlineData(20, 20)]
    [InlineData(500, 20)]
    public void An_additive_step_waits_for_about_one_seconds_worth_of_successes_at_most_increase_after(double rate, int expected) =>
        Assert.Equal(expected, AimdController.IncreaseAfter(rate, configured: 20));

    [Fact]
    public void A_configured_increase_after_below_three_is_kept() =>
        Assert.Equal(2, AimdController.IncreaseAfter(0.5, configured: 2));

    /// <summary>
    /// One success answered at 10 ms, then eight attempts sent at the configured 10/s (every 100 ms from 100 ms) and each
    /// answered 800 ms later, all 429 with <paramref name="headers"/>: sent at the rate after the first answer, so neither
    /// the opening burst nor one burst's 429s.
    /// </summary>
    private static List<RateOutcome> RejectedAtTheRate(RateLimitInfo headers) =>
        [RateOutcome.Success(Ms(0), Ms(10)), .. Enumerable.Range(1, 8).Select(i => RateOutcome.RateLimited(Ms(i * 100), Ms(i * 100 + 800), headers: headers))];

    [Fact]
    public void An_overload_pauses_the_model_with_an_emptied_throttle_and_cuts_from_the_rate_the_429s_were_sent_at()
    {
        var controller = new RateController(Settings());
        var retryAfter = new RateLimitInfo { RetryAfter = TimeSpan.FromSeconds(2) };
        // The fourth 429 (answered at 1200 ms) makes an overload: four 429s, more than half of the five attempts counted,
        // sent over three intervals of the rate. The four answered after it were sent before the pause: echoes, which
        // only extend it.
        var decisions = Replay(controller, RejectedAtTheRate(retryAfter));
        var changes = Changes(decisions);

        Assert.Equal([RateChangeReason.RateLimited, RateChangeReason.Overload], changes.Select(c => c.Reason));
        // The 429 step halved the burst (10 -> 5); the overload cuts from before that step: burst 5, rate 10 * 0.5.
        Assert.Equal(new ThrottleSettings(10, 5, 0), changes[1].Before);
        Assert.Equal(new ThrottleSettings(5, 5, 0), changes[1].After);
        Assert.Equal(Ms(1200), changes[1].At);
        var overload = decisions.Single(d => d.Change?.Reason == RateChangeReason.Overload);
        var pause = Assert.Single(overload.Pauses);
        Assert.True(pause.Empty);
        Assert.Equal(Ms(1200) + TimeSpan.FromSeconds(2), pause.Until);
        Assert.Equal([1300, 1400, 1500, 1600], decisions.Skip(5).Select(d => (Assert.Single(d.Pauses).Until - T0 - TimeSpan.FromSeconds(2)).TotalMilliseconds));
        // Every attempt since the first 429 was rejected (the success before it drew on the burst).
        Assert.Contains("100 % of the attempts since the first 429", changes[1].Detail);
    }

    [Fact]
    public void Ten_times_too_fast_into_a_sliding_log_the_storm_is_an_overload_at_its_sixteenth_429()
    {
        var controller = new RateController(Settings("requests-per-second = 1000"));
        // A log of 100 a second: the first hundred, sent a millisecond apart, are accepted; everything after is refused.
        var decisions = Replay(controller, [
            .. Enumerable.Range(0, 100).Select(i => RateOutcome.Success(Ms(i), Ms(i))),
            .. Enumerable.Range(100, 40).Select(i => RateOutcome.RateLimited(Ms(i), Ms(i))),
        ]);
        var overload = decisions.FindIndex(d => d.Change?.Reason == RateChangeReason.Overload);

        // Counted with the hundred successes of the provider's burst, the 429s would have had to outnumber them.
        Assert.Equal(100 + OverloadDetector.MinStormRejections - 1, overload);
        Assert.Equal(500, decisions[overload].Change!.After.Rate);
        Assert.Contains("100 % of the attempts since the first 429", decisions[overload].Change!.Detail);
    }

    /// <summary>
    /// Feeds <paramref name="controller"/> a storm of 429s sent every <paramref name="everyMs"/> from <paramref name="fromMs"/>
    /// (each answered a millisecond later) until one makes an overload (its rate cut, if any, taken from before the storm's 429 step); returns the overload's pause.
    /// </summary>
    private static RatePause StormUntilOverload(RateController controller, double fromMs, double everyMs)
    {
        for (var i = 0; i < 100; i++)
        {
            var sent = Ms(fromMs + i * everyMs);
            var decision = controller.Observe(RateOutcome.RateLimited(sent, sent + TimeSpan.FromMilliseconds(1)));
            if (decision.Pauses.SingleOrDefault(p => p.Empty) is { } pause)
            {
                return pause;
            }
        }
        throw new Xunit.Sdk.XunitException("no overload after 100 429s");
    }

    [Fact]
    public void A_429_right_after_an_overload_cut_waits_for_the_accepted_rate_and_settles_under_it_instead_of_halving_again()
    {
        var controller = new RateController(Settings("requests-per-second = 200\nmax-burst = 1"));
        controller.Observe(RateOutcome.Success(Ms(0), Ms(10)));
        var pause = StormUntilOverload(controller, 20, 1);
        Assert.Equal(100, controller.Settings.Rate);
        // After the pause: sent at the cut 100/s, every fifth refused (the provider accepts 80/s); successes are answered
        // 50 ms after they were sent, 429s after 5 ms, so the first 429 comes before the estimate has its samples.
        var from = (pause.Until - T0).TotalMilliseconds + 10;
        var recorded = Enumerable.Range(0, 40)
            .Select(i => (Sent: Ms(from + i * 10), Rejected: i % 5 == 4))
            .Select(a => a.Rejected ? RateOutcome.RateLimited(a.Sent, a.Sent + TimeSpan.FromMilliseconds(5)) : RateOutcome.Success(a.Sent, a.Sent + TimeSpan.FromMilliseconds(50)))
            .OrderBy(o => o.AnsweredAt)
            .ToList();
        var changes = Changes(Replay(controller, recorded));

        // Halving on the first 429 would have taken the rate to 50/s; it settles once, at 0.97 of about 80/s, when the
        // sixteenth success since the overload is answered (sixteen samples read 76-86/s, as every fifth is missing).
        var settle = Assert.Single(changes);
        Assert.Equal(RateChangeReason.RateLimited, settle.Reason);
        Assert.Contains("settled once measured", settle.Detail);
        Assert.InRange(settle.After.Rate, 0.97 * 76, 0.97 * 86);
        var sixteenth = recorded.Where(o => o.Kind == OutcomeKind.Success).ElementAt(15).AnsweredAt;
        Assert.Equal(sixteenth, settle.At);
        Assert.True(recorded.First(o => o.Kind == OutcomeKind.RateLimited).AnsweredAt < settle.At);
    }

    [Fact]
    public void Without_an_estimate_in_time_the_429_after_an_overload_cut_halves_the_rate()
    {
        var controller = new RateController(Settings("requests-per-second = 200\nmax-burst = 1"));
        controller.Observe(RateOutcome.Success(Ms(0), Ms(10)));
        var pause = StormUntilOverload(controller, 20, 1);
        var from = (pause.Until - T0).TotalMilliseconds + 10;
        // Five successes only, then 429s a second and more apart: the estimate never fills, and the step waits a second at most.
        Replay(controller, Enumerable.Range(0, 5).Select(i => RateOutcome.Success(Ms(from + i * 10), Ms(from + i * 10 + 50))));
        var first = controller.Observe(RateOutcome.RateLimited(Ms(from + 100), Ms(from + 105)));
        Assert.Null(first.Change);
        var later = controller.Observe(RateOutcome.RateLimited(Ms(from + 1200), Ms(from + 1205)));
        Assert.Equal(50, later.Change!.After.Rate);
    }

    [Fact]
    public void Overload_pauses_in_a_row_without_a_retry_after_double_only_once_the_rate_cannot_come_down()
    {
        var controller = new RateController(Settings("requests-per-second = 1000\nmin-rate = 100"));
        controller.Observe(RateOutcome.Success(Ms(0), Ms(1)));
        var lengths = new List<double>();
        var rates = new List<double>();
        var at = 10.0;
        for (var storm = 0; storm < 6; storm++)
        {
            var pause = StormUntilOverload(controller, at, 10);
            lengths.Add(Math.Round((pause.Until - T0).TotalMilliseconds - at - 1, 0));
            rates.Add(controller.Settings.Rate);
            at = (pause.Until - T0).TotalMilliseconds + 1;
        }

        // Each overload that cuts the rate answers the storm with the cut; its pause (the cool-down, 250 ms) only lets the
        // provider refill. At min-rate nothing is cut, and pauses in a row double as backoff.
        Assert.Equal([500, 250, 125, 100, 100, 100], rates);
        Assert.All(lengths.Take(4), l => Assert.InRange(l, 250, 290));
        Assert.True(lengths[4] > 480 && lengths[5] > 980, $"pauses: {string.Join(", ", lengths)}");
    }

    [Fact]
    public void At_a_rate_the_provider_held_for_a_second_a_storm_at_a_windows_end_is_not_an_overload()
    {
        var controller = new RateController(Settings("requests-per-second = 100"));
        // 1.2 s of sends at 100/s, all accepted: the provider holds 100/s. Then a window's end: twenty 429s of attempts sent
        // 2 ms apart (in flight together), fewer than the cool-down's successes.
        var decisions = Replay(controller, [
            .. Enumerable.Range(0, 120).Select(i => RateOutcome.Success(Ms(i * 10), Ms(i * 10 + 5))),
            .. Enumerable.Range(0, 20).Select(i => RateOutcome.RateLimited(Ms(1200 + i * 2), Ms(1205 + i * 2))),
        ]);

        Assert.DoesNotContain(Changes(decisions), c => c.Reason == RateChangeReason.Overload);
        // The same storm at a rate never held is one.
        var fresh = new RateController(Settings("requests-per-second = 100"));
        var early = Replay(fresh, [
            .. Enumerable.Range(0, 50).Select(i => RateOutcome.Success(Ms(i * 10), Ms(i * 10 + 5))),
            .. Enumerable.Range(0, 20).Select(i => RateOutcome.RateLimited(Ms(500 + i * 2), Ms(505 + i * 2))),
        ]);
        Assert.Contains(Changes(early), c => c.Reason == RateChangeReason.Overload);
    }

    [Fact]
    public void An_overload_at_or_under_the_pace_a_policy_states_pauses_but_does_not_cut_the_rate()
    {
        var controller = new RateController(Settings("requests-per-second = 200"));
        var policy = new RateLimitInfo { Dialect = RateLimitDialect.IetfDraft7, Policies = [new RateLimitPolicy(null, 100, TimeSpan.FromSeconds(1))], RetryAfter = TimeSpan.FromSeconds(1) };
        Replay(controller, Enumerable.Range(0, 3).Select(i => RateOutcome.Success(Ms(i), Ms(10 + i), headers: policy)));
        Assert.Equal(100, controller.Settings.Rate);
        // The window ran out early: at 100/s, every attempt of its last 200 ms refused, more than half of the cool-down's.
        var decisions = Replay(controller, [
            .. Enumerable.Range(0, 60).Select(i => RateOutcome.Success(Ms(200 + i * 10), Ms(210 + i * 10), headers: policy)),
            .. Enumerable.Range(0, 25).Select(i => RateOutcome.RateLimited(Ms(800 + i * 10), Ms(810 + i * 10), headers: policy)),
        ]);
        var overload = Assert.Single(Changes(decisions), c => c.Reason == RateChangeReason.Overload);

        // Not halved: the rate stays where the storm was sent (at or under the stated pace); the burst comes down.
        Assert.Equal(overload.Before.Rate, overload.After.Rate);
        Assert.InRange(overload.After.Rate, 50.01, 100);
        Assert.True(overload.After.Burst < overload.Before.Burst);
        Assert.Contains(decisions.SelectMany(d => d.Pauses), p => p.Empty);
    }

    [Fact]
    public void An_overload_in_a_window_of_known_quota_pauses_no_longer_than_the_window_that_took_the_last_quota_can_last()
    {
        var controller = new RateController(Settings("requests-per-second = 200"));
        // A drifting 1 s window of 100 (IETF draft-7): it opens at the first hit, and 100 sent in its first half run it out.
        RateLimitInfo Window(long remaining) => new()
        {
            Dialect = RateLimitDialect.IetfDraft7, LimitRequests = 100, WindowRequests = TimeSpan.FromSeconds(1), RemainingRequests = remaining,
            ResetRequests = TimeSpan.FromSeconds(1), ResetRequestsGranularity = TimeSpan.FromSeconds(1),
            RetryAfter = TimeSpan.FromSeconds(1), RetryAfterGranularity = TimeSpan.FromSeconds(1),
            Policies = [new RateLimitPolicy(null, 100, TimeSpan.FromSeconds(1))],
        };
        Replay(controller, Enumerable.Range(0, 100).Select(i => RateOutcome.Success(Ms(i * 5), Ms(50 + i * 5), headers: Window(99 - i))));
        // The rest of the window refuses everything, sent at the rate until an overload's pause stops the sends.
        var storm = new List<RateDecision>();
        while (!storm.Any(d => d.Pauses.Any(p => p.Empty)))
        {
            var n = storm.Count;
            storm.Add(controller.Observe(RateOutcome.RateLimited(Ms(500 + n * 10), Ms(550 + n * 10), headers: Window(0))));
            Assert.True(n < 40, "no overload");
        }
        var pause = Assert.Single(storm.SelectMany(d => d.Pauses), p => p.Empty);
        Assert.StartsWith("overload", pause.Cause, StringComparison.Ordinal);
        // Its whole-second retry-after would pause a second; the window that saw the last 100 hits (the storm's 429s and the
        // successes before them) began by the first of them, and is over within a second of it (in fact at 1 s).
        var firstOf100 = Ms(5 * storm.Count);
        Assert.Equal(firstOf100 + TimeSpan.FromSeconds(1), pause.Until);
        Assert.InRange(pause.Until, Ms(1000), Ms(1200));
        // A late echo's own whole-second retry-after does not stretch it past the window either.
        var echo = Replay(controller, [RateOutcome.RateLimited(Ms(600), Ms(900), headers: Window(0))]);
        Assert.All(echo.SelectMany(d => d.Pauses), p => Assert.True(p.Until <= Ms(1200), $"paused until {p.Until:O}"));
    }

    [Fact]
    public void The_429s_of_attempts_sent_before_an_exact_seed_lowered_the_rate_change_nothing()
    {
        var controller = new RateController(Settings("requests-per-second = 1000"));
        var policy = new RateLimitInfo { Dialect = RateLimitDialect.IetfDraft7, Policies = [new RateLimitPolicy(null, 100, TimeSpan.FromSeconds(1))] };
        // Three answers state 100 a second: the rate comes down to it at 50 ms.
        var seeded = Replay(controller, Enumerable.Range(0, 3).Select(i => RateOutcome.Success(Ms(i), Ms(48 + i), headers: policy)));
        Assert.Equal(100, Assert.Single(Changes(seeded)).After.Rate);
        // The storm of what was sent at 1,000/s before that comes back: no step, no overload.
        var echoes = Replay(controller, Enumerable.Range(0, 40).Select(i => RateOutcome.RateLimited(Ms(10 + i), Ms(60 + i), headers: policy)));
        Assert.Empty(Changes(echoes));
        Assert.Equal(new ThrottleSettings(100, 10, 0), controller.Settings);
        // A 429 of an attempt sent after it counts.
        Assert.Single(Changes(Replay(controller, [RateOutcome.RateLimited(Ms(60), Ms(110), headers: policy)])));
    }

    [Fact]
    public void Eight_429s_of_attempts_sent_together_are_one_bursts_fault_not_an_overload()
    {
        var controller = new RateController(Settings());
        var retryAfter = new RateLimitInfo { RetryAfter = TimeSpan.FromSeconds(2) };
        // After a first answer, eight attempts sent within 14 ms (one release of the burst at 10/s) all draw 429s: the burst
        // shrinks once per cool-down; the rate stays and the model does not pause.
        var decisions = Replay(controller, [RateOutcome.Success(Ms(0), Ms(10)), .. Enumerable.Range(0, 8).Select(i => RateOutcome.RateLimited(Ms(100 + i * 2), Ms(130 + i * 5), headers: retryAfter))]);

        var change = Assert.Single(Changes(decisions));
        Assert.Equal(RateChangeReason.RateLimited, change.Reason);
        Assert.Equal(new ThrottleSettings(10, 5, 0), change.After);
        Assert.All(decisions, d => Assert.DoesNotContain(d.Pauses, p => p.Empty));
    }

    [Fact]
    public void The_opening_bursts_429s_shrink_the_burst_and_leave_the_rate_and_slow_start()
    {
        var controller = new RateController(Settings("requests-per-second = auto"));
        var start = controller.Settings;
        // Ten sent blind at the start (burst 10) into a bucket holding four: six 429s, answered before the first success.
        var decisions = Replay(controller, Enumerable.Range(0, 6).Select(i => RateOutcome.RateLimited(Ms(i * 0.1), Ms(2 + i * 0.1))));

        Assert.Equal(start.Rate, controller.Settings.Rate);
        Assert.Equal(start.Burst / 2, controller.Settings.Burst);
        Assert.True(controller.InSlowStart);
        Assert.Contains("opening burst", Assert.Single(Changes(decisions)).Detail);
    }

    [Theory]
    [InlineData(100, 9.5)]
    [InlineData(20, 9.5)]
    [InlineData(10.4, 10.4)]
    public void An_opening_burst_429_that_states_a_pace_well_under_the_rate_brings_the_rate_down_to_it(double configured, double expected)
    {
        var controller = new RateController(Settings($"requests-per-second = {configured.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
        // A GCRA holding 5 of a 10/s limit, its waits in whole seconds (RateLimit-Limit/-Remaining/-Reset, retry-after):
        // (10 - 1/2) / 1 s is its refill pace, at least.
        var emptyBucket = new RateLimitInfo
        {
            LimitRequests = 10, RemainingRequests = 0, ResetRequests = TimeSpan.FromSeconds(1), ResetRequestsGranularity = TimeSpan.FromSeconds(1),
            RetryAfter = TimeSpan.FromSeconds(1), RetryAfterGranularity = TimeSpan.FromSeconds(1),
        };
        var decisions = Replay(controller, Enumerable.Range(0, 5).Select(i => RateOutcome.RateLimited(Ms(i * 0.1), Ms(2 + i * 0.1), headers: emptyBucket)));

        // Within the seed tolerance of the pace the configured number stands (a known limit): only the burst shrinks.
        Assert.Equal(expected, controller.Settings.Rate, 3);
        Assert.True(controller.Settings.Burst < 10);
        Assert.Equal(configured > expected, Changes(decisions)[0].Detail.Contains("the rate comes down to that pace", StringComparison.Ordinal));
    }

    [Fact]
    public void Echoes_of_an_overload_change_no_rate_and_only_lengthen_the_pause_to_a_later_retry_after()
    {
        var controller = new RateController(Settings());
        var twoSeconds = new RateLimitInfo { RetryAfter = TimeSpan.FromSeconds(2) };
        Replay(controller, RejectedAtTheRate(twoSeconds));
        var before = controller.Settings;

        var echoes = Replay(controller, [
            RateOutcome.RateLimited(Ms(850), Ms(1700), headers: twoSeconds), // ends later than the pause: extends it
            RateOutcome.RateLimited(Ms(850), Ms(1700), headers: new RateLimitInfo { RetryAfter = TimeSpan.FromMilliseconds(100) }), // earlier: nothing
        ]);

        Assert.Equal(before, controller.Settings);
        Assert.All(echoes, d => Assert.Null(d.Change));
        Assert.Equal(Ms(1700) + TimeSpan.FromSeconds(2), Assert.Single(echoes[0].Pauses).Until);
        Assert.Empty(echoes[1].Pauses);
    }

    [Fact]
    public void A_header_saying_nothing_remains_pauses_for_one_requests_share_of_the_reset_without_a_rate_change()
    {
        var controller = new RateController(Settings());
        var headers = new RateLimitInfo { LimitRequests = 10, RemainingRequests = 0, ResetRequests = TimeSpan.FromSeconds(1) };
        var decision = controller.Observe(RateOutcome.Success(Ms(0), Ms(50), headers: headers));

        Assert.Null(decision.Change);
        var pause = Assert.Single(decision.Pauses);
        Assert.False(pause.Empty);
        Assert.Equal(Ms(150), pause.Until);
    }

    [Fact]
    public void A_429_on_the_token_limit_lowers_the_token_rate_and_leaves_the_request_rate()
    {
        var controller = new RateController(Settings("tokens-per-minute = 60000"));
        var changes = Changes(Replay(controller, Successes(40, 0, 100, cost: 500)
            .Append(RateOutcome.RateLimited(Ms(3950), Ms(4000), cost: 500, cause: RateLimitedBy.Tokens))));

        var change = Assert.Single(changes);
        Assert.Equal(RateChangeReason.RateLimited, change.Reason);
        Assert.Equal(10, change.After.Rate);
        Assert.Equal(10, change.After.Burst);
        Assert.Equal(60000, change.Before.TokensPerMinute);
        // Accepted 500 tokens every 100 ms = 300000/min, above the budget: nothing to settle under, so a cut by the
        // settle margin (RateStep: the rate is already under what was accepted).
        Assert.Equal(58200, change.After.TokensPerMinute);
    }

    /// <summary>
    /// Ten successes 100 ms apart, then twenty 429s on the token limit sent 10 ms apart and answered after the last was sent
    /// (a storm), all carrying <paramref name="headers"/>.
    /// </summary>
    private static IEnumerable<RateOutcome> TokenStorm(RateLimitInfo? headers) =>
        Enumerable.Range(0, 10).Select(i => RateOutcome.Success(Ms(i * 100), Ms(i * 100 + 50), cost: 500, headers: headers))
            .Concat(Enumerable.Range(0, 20).Select(i => RateOutcome.RateLimited(Ms(1000 + i * 10), Ms(1300 + i), cost: 500, headers: headers, cause: RateLimitedBy.Tokens)));

    [Fact]
    public void An_overload_on_the_token_limit_at_the_token_limit_the_provider_states_pauses_and_keeps_the_token_rate()
    {
        // Configured twice too high; every answer states 60,000 tokens a minute (Anthropic), which seeds the token rate.
        var controller = new RateController(Settings("requests-per-second = 100\ntokens-per-minute = 120000"));
        var stated = new RateLimitInfo { Dialect = RateLimitDialect.Anthropic, LimitTokens = 60000 };
        var decisions = Replay(controller, TokenStorm(stated));

        Assert.Contains(Changes(decisions), c => c.Reason == RateChangeReason.HeaderSeed && c.After.TokensPerMinute == 60000);
        // The storm is the provider's bucket emptied (an opening burst), not the rate: the model pauses, emptied, and resumes
        // at the stated token rate (halving it left the virtual matrix's tokens-anthropic 2x at 0.71 of its known-limit run).
        Assert.Contains(decisions.SelectMany(d => d.Pauses), p => p.Empty && p.Cause.StartsWith("overload", StringComparison.Ordinal));
        Assert.Equal(60000, controller.TokensPerMinute);
    }

    [Fact]
    public void An_overload_on_the_token_limit_with_no_token_limit_stated_halves_the_token_rate()
    {
        var controller = new RateController(Settings("requests-per-second = 100\ntokens-per-minute = 60000"));
        var decisions = Replay(controller, TokenStorm(headers: null));

        Assert.Contains(decisions.SelectMany(d => d.Pauses), p => p.Empty && p.Cause.StartsWith("overload", StringComparison.Ordinal));
        // Halved from the rate the storm was sent at (the 429 step before it answered the same storm).
        Assert.Equal(30000, controller.TokensPerMinute);
    }

    /// <summary>
    /// Fixed 1 s windows of 100 requests behind OpenAI's headers, offered 200/s for <paramref name="seconds"/>: the first 100
    /// sent in a window succeed, answered 100-300 ms later with headers reckoned then (as the simulator writes them); the rest
    /// are 429s answered at once. In answer order.
    /// </summary>
    private static List<RateOutcome> FixedWindowsAtTwiceTheQuota(double seconds)
    {
        var random = new Random(7);
        var sends = Enumerable.Range(0, (int)(200 * seconds)).Select(i => (Sent: i * 5.0, Window: (int)(i * 5.0 / 1000))).ToList();
        var admitted = new List<(double Sent, double Answered)>();
        var outcomes = new List<(double Answered, RateOutcome Outcome)>();
        RateLimitInfo Headers(double atMs)
        {
            var window = (int)(atMs / 1000);
            var used = admitted.Count(a => (int)(a.Sent / 1000) == window && a.Sent <= atMs);
            return new RateLimitInfo
            {
                Dialect = RateLimitDialect.OpenAI, LimitRequests = 100, RemainingRequests = 100 - used,
                ResetRequests = TimeSpan.FromMilliseconds((window + 1) * 1000 - atMs),
            };
        }
        foreach (var (sent, window) in sends)
        {
            if (admitted.Count(a => (int)(a.Sent / 1000) == window) < 100)
            {
                admitted.Add((sent, sent + random.Next(100, 300)));
            }
            else
            {
                outcomes.Add((sent + 1, RateOutcome.RateLimited(Ms(sent), Ms(sent + 1), headers: Headers(sent))));
            }
        }
        outcomes.AddRange(admitted.Select(a => (a.Answered, RateOutcome.Success(Ms(a.Sent), Ms(a.Answered), headers: Headers(a.Answered)))));
        return outcomes.OrderBy(o => o.Answered).Select(o => o.Outcome).ToList();
    }

    [Fact]
    public void Fixed_windows_behind_openai_headers_are_told_from_a_bucket_and_paced_at_their_limit_over_their_length()
    {
        var controller = new RateController(Settings("requests-per-second = 200\nmax-burst = 5"));
        var decisions = Replay(controller, FixedWindowsAtTwiceTheQuota(seconds: 4));

        var seed = Assert.Single(Changes(decisions), c => c.Reason == RateChangeReason.HeaderSeed && c.Detail.Contains("window", StringComparison.Ordinal));
        Assert.Contains("a fixed window of 1 s", seed.Detail, StringComparison.Ordinal);
        // 429s had lowered the rate under the window's pace by then: the verdict raises it.
        Assert.True(seed.Before.Rate < 50, $"rate before the seed {seed.Before.Rate}");
        Assert.Equal(100, seed.After.Rate, 6);
        // Stated like a policy: the rate never probes above it, and the stream's 429s at each window's end (this stream
        // keeps offering 200/s) take plain steps, not an overload's halving.
        Assert.All(Changes(decisions).Where(c => c.At > seed.At), c => Assert.InRange(c.After.Rate, 90, 100));
    }

    [Fact]
    public void A_429_inside_a_stream_takes_a_plain_step_and_never_counts_towards_an_overload()
    {
        var controller = new RateController(Settings());
        var streamed = Enumerable.Range(0, 8).Select(i => RateOutcome.RateLimited(Ms(i * 300), Ms(i * 300 + 5)) with { Streamed = true });
        var changes = Changes(Replay(controller, streamed));

        Assert.All(changes, c => Assert.Equal(RateChangeReason.RateLimited, c.Reason));
        Assert.Equal("429 inside a stream", changes[0].Detail);
        Assert.Equal([5, 2, 1], changes.Take(3).Select(c => c.After.Burst));
    }

    [Fact]
    public void Pause_on_retry_after_model_pauses_on_every_429_with_a_retry_after_capped_at_max_retry_after()
    {
        var controller = new RateController(Settings("adapt.pause-on-retry-after = model, retry.max-retry-after = 5s"));
        var decision = controller.Observe(RateOutcome.RateLimited(Ms(0), Ms(10), headers: new RateLimitInfo { RetryAfter = TimeSpan.FromSeconds(30) }));

        Assert.Equal(Ms(10) + TimeSpan.FromSeconds(5), Assert.Single(decision.Pauses).Until);
    }

    [Fact]
    public void Server_errors_among_successes_are_no_rate_signal_and_pause_nothing()
    {
        var controller = new RateController(Settings());
        // One attempt in three fails with a server error, steadily: the provider is up.
        var recorded = Enumerable.Range(0, 60).Select(i => i % 3 == 0
            ? RateOutcome.Transient(Ms(i * 100), Ms(i * 100 + 5))
            : RateOutcome.Success(Ms(i * 100), Ms(i * 100 + 5)));

        Assert.All(Replay(controller, recorded), d => Assert.Same(RateDecision.None, d));
        Assert.False(controller.InOutage);
    }

    [Fact]
    public void Most_attempts_failing_with_server_errors_pause_the_model_doubling_to_base_delay_until_a_probe_is_answered()
    {
        var controller = new RateController(Settings());
        // Four server errors in a row (most of the cool-down's attempts, at least OverloadDetector.MinRejections): an outage.
        var opening = Replay(controller, Enumerable.Range(0, 4).Select(i => RateOutcome.Transient(Ms(i * 10), Ms(i * 10 + 5))));
        Assert.All(opening.Take(3), d => Assert.Same(RateDecision.None, d));
        var first = Assert.Single(opening[3].Pauses);
        Assert.Equal(new RatePause(Ms(35) + TimeSpan.FromMilliseconds(250), Empty: true, first.Cause, Outage: true), first);
        Assert.Contains("4 of 4 attempts failed with server errors", first.Cause);
        Assert.Empty(opening[3].Changes);
        Assert.True(controller.InOutage);
        Assert.True(opening[3].OutageBegan);
        Assert.False(opening[3].OutageEnded);

        // An attempt sent before the pause and answered during it is its echo.
        Assert.Same(RateDecision.None, controller.Observe(RateOutcome.Transient(Ms(33), Ms(100))));

        // Each probe sent after a pause that fails pauses again, twice as long (cool-down 250 ms), up to retry.base-delay (1 s).
        var until = new List<DateTimeOffset>();
        var sent = 290.0;
        foreach (var _ in Enumerable.Range(0, 4))
        {
            var pause = Assert.Single(controller.Observe(RateOutcome.Transient(Ms(sent), Ms(sent + 10))).Pauses);
            Assert.True(pause.Outage);
            until.Add(pause.Until);
            sent = (pause.Until - T0).TotalMilliseconds + 5;
        }
        Assert.Equal([Ms(300 + 500), Ms(805 + 10 + 1000), Ms(1820 + 10 + 1000), Ms(2835 + 10 + 1000)], until);

        // A probe answered (a 429 would do too): the provider is up; the settings never moved.
        var answered = controller.Observe(RateOutcome.Success(Ms(sent), Ms(sent + 10)));
        Assert.True(answered is { OutageEnded: true, OutageBegan: false, Changes.Count: 0, Pauses.Count: 0 });
        Assert.False(controller.InOutage);
        Assert.Equal(new ThrottleSettings(10, 10, 0), controller.Settings);
    }

    [Fact]
    public void Back_from_an_outage_a_model_slow_starts_to_the_highest_rate_it_held_and_no_further()
    {
        var controller = new RateController(Settings("requests-per-second = 100"));
        // Two seconds accepted at 100/s: a rate the provider holds.
        Replay(controller, Successes(200, 0, 10));
        // Then most attempts rejected (the limit dropped): an overload cuts the rate.
        Replay(controller, Enumerable.Range(0, 40).Select(i => RateOutcome.RateLimited(Ms(2000 + i * 5), Ms(2005 + i * 5))));
        var cut = controller.Settings.Rate;
        Assert.True(cut <= 60, $"cut to {cut}");
        Replay(controller, Successes((int)(2 * cut), 4000, 1000 / cut));
        // An outage, and a probe answered after its pause.
        var outage = Replay(controller, Enumerable.Range(0, 10).Select(i => RateOutcome.Transient(Ms(6000 + i * 10), Ms(6005 + i * 10))));
        var probeAt = (outage.SelectMany(d => d.Pauses).Last().Until - T0).TotalMilliseconds + 5;
        controller.Observe(RateOutcome.Success(Ms(probeAt), Ms(probeAt + 5)));

        Assert.False(controller.InOutage);
        Assert.True(controller.InSlowStart);
        var changes = Changes(Replay(controller, Successes(600, probeAt + 20, 10)));
        Assert.Equal(100, controller.Settings.Rate, 6);
        Assert.Contains(changes, c => c.Reason == RateChangeReason.SlowStart);
        Assert.All(changes, c => Assert.True(c.After.Rate <= 100));
    }

    [Fact]
    public void Back_from_an_outage_a_model_that_held_no_higher_rate_slow_starts_to_twice_its_rate_and_no_further()
    {
        // Configured 4x too high: the overloads of the opening cut the rate before it ever held one above it.
        var controller = new RateController(Settings("requests-per-second = 400"));
        Replay(controller, Enumerable.Range(0, 40).Select(i => RateOutcome.RateLimited(Ms(i * 5), Ms(i * 5 + 5))));
        var cut = controller.Settings.Rate;
        Assert.True(cut <= 200, $"cut to {cut}");
        // Held for two seconds at the cut rate: the highest rate held is the rate now.
        Replay(controller, Successes((int)(2 * cut), 1000, 1000 / cut));
        var before = controller.Settings.Rate;
        var outage = Replay(controller, Enumerable.Range(0, 10).Select(i => RateOutcome.Transient(Ms(4000 + i * 10), Ms(4005 + i * 10))));
        var probeAt = (outage.SelectMany(d => d.Pauses).Last().Until - T0).TotalMilliseconds + 5;
        controller.Observe(RateOutcome.Success(Ms(probeAt), Ms(probeAt + 5)));

        Assert.True(controller.InSlowStart);
        // Offered at the configured 400/s: slow start doubles to twice the rate, not to the configured number.
        var changes = Changes(Replay(controller, Successes(1200, probeAt + 20, 2.5)));
        var slowStart = changes.Where(c => c.Reason == RateChangeReason.SlowStart).ToList();
        Assert.NotEmpty(slowStart);
        Assert.Equal(2 * before, slowStart.Max(c => c.After.Rate), 6);
        Assert.False(controller.InSlowStart);
        // From there, additive steps at the normal pace.
        var after = changes.Skip(changes.IndexOf(slowStart[^1]) + 1).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, c => Assert.True(c.Reason == RateChangeReason.Probe && c.After.Rate - c.Before.Rate <= 1, $"{c.Reason} {c.Before.Rate} -> {c.After.Rate}"));
    }

    [Fact]
    public void An_outage_pause_waits_the_providers_retry_after()
    {
        var controller = new RateController(Settings());
        var headers = new RateLimitInfo { RetryAfter = TimeSpan.FromSeconds(3) };
        var decisions = Replay(controller, Enumerable.Range(0, 4).Select(i => RateOutcome.Transient(Ms(i * 10), Ms(i * 10 + 5), headers)));

        Assert.Equal(Ms(35) + TimeSpan.FromSeconds(3), Assert.Single(decisions[3].Pauses).Until);
    }

    [Fact]
    public void The_same_recording_replays_to_the_same_decisions()
    {
        var rng = new Random(7);
        var recorded = Enumerable.Range(0, 2000).Select(i =>
        {
            var sent = Ms(i * 7);
            var answered = sent + TimeSpan.FromMilliseconds(20 + rng.Next(200));
            return rng.NextDouble() < 0.1
                ? RateOutcome.RateLimited(sent, answered, headers: new RateLimitInfo { RetryAfter = TimeSpan.FromMilliseconds(rng.Next(2000)) })
                : RateOutcome.Success(sent, answered);
        }).OrderBy(o => o.AnsweredAt).ToList();

        var first = Replay(new RateController(Settings()), recorded);
        var second = Replay(new RateController(Settings()), recorded);

        Assert.Equal(first.Select(d => d.Change), second.Select(d => d.Change));
        Assert.Equal(first.SelectMany(d => d.Pauses), second.SelectMany(d => d.Pauses));
        Assert.NotEmpty(Changes(first));
    }
}
