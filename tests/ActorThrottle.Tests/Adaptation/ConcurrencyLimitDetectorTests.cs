using ActorThrottle.Adaptation;
using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>Telling a concurrency cap from a rate limit, and AIMD on the in-flight limit (<see cref="ConcurrencyLimitDetector"/>).</summary>
public sealed class ConcurrencyLimitDetectorTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    /// <summary>A success sent at <paramref name="sentAt"/> (by default 300 ms before a 429's default instant), answered 200 ms later.</summary>
    private static ConcurrencyVerdict Ok(ConcurrencyLimitDetector d, int inFlight, double sentAt = -0.3) =>
        d.OnOutcome(OutcomeKind.Success, inFlight, rateHints: false, At(sentAt), At(sentAt + 0.2));

    private static ConcurrencyVerdict Rejected(ConcurrencyLimitDetector d, int inFlight, double sentAt = 0, bool headers = false) =>
        d.OnOutcome(OutcomeKind.RateLimited, inFlight, headers, At(sentAt), At(sentAt + 0.01));

    [Fact]
    public void The_limit_starts_at_max_in_flight_and_the_constructor_checks_it()
    {
        Assert.Equal(64, new ConcurrencyLimitDetector(64).Limit);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrencyLimitDetector(0));
    }

    [Fact]
    public void A_headerless_429_above_every_success_is_a_concurrency_cap_and_lowers_the_limit_to_the_level_below()
    {
        var d = new ConcurrencyLimitDetector(64);
        for (var n = 1; n <= 20; n++)
        {
            Assert.Equal(new ConcurrencyVerdict(false, 64, false), Ok(d, n));
        }
        Assert.Equal(new ConcurrencyVerdict(true, 20, true), Rejected(d, 21));
        // Further rejections of the same burst, higher up: still the cap, the limit stays.
        Assert.Equal(new ConcurrencyVerdict(true, 20, false), Rejected(d, 24));
    }

    [Fact]
    public void A_429_at_the_highest_success_level_is_still_the_cap()
    {
        // The provider frees its slot before the client sees the answer: a success and a 429 can share a level.
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 21);
        Assert.Equal(new ConcurrencyVerdict(true, 20, true), Rejected(d, 21));
    }

    [Fact]
    public void A_first_burst_rejected_before_any_success_came_back_is_a_rate_limit()
    {
        // A bucket with a burst of 10 rejects the 11th to 20th of a first burst at once; no success has returned yet.
        var d = new ConcurrencyLimitDetector(64);
        for (var n = 11; n <= 20; n++)
        {
            Assert.False(Rejected(d, n).ConcurrencyLimited);
        }
        Assert.Equal(64, d.Limit);
    }

    [Fact]
    public void Successes_only_far_below_the_rejected_level_are_no_evidence_of_a_cap()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 3);
        Assert.False(Rejected(d, 10).ConcurrencyLimited);
        Ok(d, 5);
        Assert.True(Rejected(d, 10, sentAt: 0.1).ConcurrencyLimited);
        Assert.Equal(9, d.Limit);
    }

    [Fact]
    public void A_ramp_that_refused_its_next_call_is_no_evidence_of_a_cap_until_the_level_has_been_held()
    {
        // Sent 2 ms apart after a pause, faster than a bucket refills: levels 1-12 succeed (answered 150 ms later), the 13th
        // is refused. Above every success, but all sent within less than one latency: a ramp, cap or no cap.
        var d = new ConcurrencyLimitDetector(64);
        for (var n = 1; n <= 12; n++)
        {
            d.OnOutcome(OutcomeKind.Success, n, rateHints: false, At(n * 0.002), At(n * 0.002 + 0.15));
        }
        Assert.Equal(new ConcurrencyVerdict(false, 64, false), d.OnOutcome(OutcomeKind.RateLimited, 13, rateHints: false, At(0.026), At(0.2)));
        // Once calls at that level have succeeded for longer than a latency, a refusal above them is the cap's.
        d.OnOutcome(OutcomeKind.Success, 12, rateHints: false, At(0.3), At(0.45));
        Assert.Equal(new ConcurrencyVerdict(true, 12, true), d.OnOutcome(OutcomeKind.RateLimited, 13, rateHints: false, At(0.5), At(0.51)));
    }

    [Fact]
    public void A_429_below_a_recent_success_is_a_rate_limit()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 25);
        Assert.Equal(new ConcurrencyVerdict(false, 64, false), Rejected(d, 18));
    }

    [Fact]
    public void Once_a_429_came_below_the_highest_success_no_429_counts_as_the_cap_while_that_evidence_is_recent()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 25);
        Rejected(d, 18);
        Assert.False(Rejected(d, 30, sentAt: 1).ConcurrencyLimited);
        // Five seconds on, the old evidence has aged out.
        Ok(d, 29, sentAt: 5.8);
        Assert.True(Rejected(d, 30, sentAt: 6.1).ConcurrencyLimited);
        Assert.Equal(29, d.Limit);
    }

    [Fact]
    public void A_429_with_rate_headers_or_a_retry_after_is_never_the_cap()
    {
        var d = new ConcurrencyLimitDetector(64);
        Assert.Equal(new ConcurrencyVerdict(false, 64, false), Rejected(d, 40, headers: true));
    }

    [Fact]
    public void A_lone_call_is_over_no_cap_and_its_429_is_evidence_of_a_rate_limit()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 2);
        Assert.False(Rejected(d, 1).ConcurrencyLimited);
        Assert.False(Rejected(d, 3).ConcurrencyLimited);
        Assert.Equal(64, d.Limit);
    }

    [Fact]
    public void An_unknown_in_flight_count_classifies_nothing() =>
        Assert.False(Rejected(new ConcurrencyLimitDetector(8), 0).ConcurrencyLimited);

    [Fact]
    public void A_cap_that_shrinks_is_followed_down_to_three_and_no_lower()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 9);
        Assert.Equal(9, Rejected(d, 10).Limit);
        // Six seconds on, the cap is smaller: the old evidence aged out, new successes at its level came back.
        Ok(d, 4, sentAt: 6);
        Assert.Equal(4, Rejected(d, 5, sentAt: 6.5).Limit);
        Ok(d, 3, sentAt: 12);
        Assert.Equal(new ConcurrencyVerdict(true, 3, true), Rejected(d, 4, sentAt: 12.5));
        // Under the minimum cap level a 429 is a rate limit's.
        Ok(d, 2, sentAt: 18);
        Assert.Equal(new ConcurrencyVerdict(false, 3, false), Rejected(d, 3, sentAt: 18.5));
    }

    [Fact]
    public void At_latency_zero_a_rate_limits_429s_at_one_to_three_in_flight_are_not_a_cap()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 1);
        Ok(d, 2);
        Assert.False(Rejected(d, 2).ConcurrencyLimited);
        Ok(d, 3, sentAt: 0.1);
        Assert.False(Rejected(d, 3, sentAt: 0.1).ConcurrencyLimited);
        Assert.Equal(64, d.Limit);
    }

    [Fact]
    public void A_429_above_the_limit_does_not_raise_it()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 9);
        Rejected(d, 10);
        Assert.Equal(new ConcurrencyVerdict(true, 9, false), Rejected(d, 12));
    }

    [Fact]
    public void Successes_with_the_gate_full_raise_the_limit_by_one_after_ten_rounds()
    {
        var d = new ConcurrencyLimitDetector(64);
        Ok(d, 4);
        Rejected(d, 5);
        Assert.Equal(4, d.Limit);
        // Successes below the limit are not evidence the cap grew.
        for (var i = 0; i < 100; i++)
        {
            Ok(d, 3);
        }
        Assert.Equal(4, d.Limit);
        for (var i = 0; i < ConcurrencyLimitDetector.IncreaseAfterRounds * 4 - 1; i++)
        {
            Assert.False(Ok(d, 4).Changed);
        }
        Assert.Equal(new ConcurrencyVerdict(false, 5, true), Ok(d, 4));
    }

    [Fact]
    public void The_limit_never_grows_above_max_in_flight()
    {
        var d = new ConcurrencyLimitDetector(5);
        Ok(d, 4);
        Assert.Equal(4, Rejected(d, 5).Limit);
        for (var i = 0; i < 1000; i++)
        {
            Ok(d, 5);
        }
        Assert.Equal(5, d.Limit);
    }

    [Theory]
    [InlineData(OutcomeKind.Transient)]
    [InlineData(OutcomeKind.Permanent)]
    [InlineData(OutcomeKind.QuotaExceeded)]
    public void Other_outcomes_change_nothing(OutcomeKind kind) =>
        Assert.Equal(new ConcurrencyVerdict(false, 8, false), new ConcurrencyLimitDetector(8).OnOutcome(kind, 8, false, T0, T0));

    [Fact]
    public void Once_a_cap_is_known_its_probe_meeting_it_again_is_the_cap_whatever_wider_successes_the_window_holds()
    {
        var d = new ConcurrencyLimitDetector(64);
        for (var n = 1; n <= 24; n++)
        {
            Ok(d, n);
        }
        Assert.Equal(new ConcurrencyVerdict(true, 23, true), Rejected(d, 24, sentAt: 0.1));
        // A call sent at 26 while the gate was still wide, answered late: it is in the window, above the cap's level.
        Ok(d, 26, sentAt: 0.05);
        for (var i = 0; i < 10 * 23; i++)
        {
            Ok(d, 23, sentAt: 0.3);
        }
        Assert.Equal(24, d.Limit);
        // The probe at 24 meets the cap where it was seen: back to 23, and the rate is left alone (verdict: concurrency limited).
        Assert.Equal(new ConcurrencyVerdict(true, 23, true), Rejected(d, 24, sentAt: 0.5));
    }

    [Fact]
    public void A_429_below_the_level_a_cap_was_seen_at_refutes_it_and_later_429s_need_the_evidence_again()
    {
        var d = new ConcurrencyLimitDetector(64);
        for (var n = 1; n <= 20; n++)
        {
            Ok(d, n);
        }
        // A headerless rate limit taken for a cap at first.
        Assert.True(Rejected(d, 20, sentAt: 0.1).ConcurrencyLimited);
        Assert.Equal(19, d.Limit);
        Ok(d, 18, sentAt: 0.2);
        // A cap does not reject at 12 with 18 in flight succeeding: a rate limit.
        Assert.False(Rejected(d, 12, sentAt: 0.3).ConcurrencyLimited);
        // At the level the "cap" was seen at, the evidence (a 429 below a success) now says rate limit.
        Assert.False(Rejected(d, 20, sentAt: 0.4).ConcurrencyLimited);
        Assert.Equal(19, d.Limit);
    }

    [Fact]
    public void Before_any_cap_was_seen_a_429_with_the_gate_full_still_needs_the_evidence()
    {
        var d = new ConcurrencyLimitDetector(8);
        Ok(d, 8);
        Ok(d, 3);
        Rejected(d, 2);
        Assert.False(Rejected(d, 8, sentAt: 0.1).ConcurrencyLimited);
        Assert.Equal(8, d.Limit);
    }
}
