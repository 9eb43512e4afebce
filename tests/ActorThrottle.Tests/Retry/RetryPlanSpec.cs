using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Retry;
using Xunit;

namespace ActorThrottle.Tests.Retry;

/// <summary>The retry decision for one failed attempt, every case: kind × attempts left × outage.</summary>
public sealed class RetryPlanSpec
{
    // The reference values, with three attempts.
    private static readonly RetrySettings Settings = RetryDelaySpec.Settings with { MaxAttempts = 3 };

    [Theory]
    [InlineData(OutcomeKind.RateLimited, false)]
    [InlineData(OutcomeKind.RateLimited, true)]
    [InlineData(OutcomeKind.Transient, false)]
    [InlineData(OutcomeKind.Transient, true)]
    public void At_max_attempts_the_request_is_given_up(OutcomeKind kind, bool inOutage)
    {
        Assert.Equal(RetryStep.GiveUp, RetryPlan.Next(kind, 3, Settings, null, inOutage, 0.5));
        Assert.Equal(RetryStep.GiveUp, RetryPlan.Next(kind, 4, Settings, null, inOutage, 0.5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_429_waits_its_jittered_backoff_or_the_retry_after_and_is_not_charged_outage_or_not(bool inOutage)
    {
        Assert.Equal(new RetryStep(true, TimeSpan.FromSeconds(1), ChargesBudget: false), RetryPlan.Next(OutcomeKind.RateLimited, 2, Settings, null, inOutage, 0.5));
        Assert.Equal(new RetryStep(true, TimeSpan.FromSeconds(7), ChargesBudget: false), RetryPlan.Next(OutcomeKind.RateLimited, 2, Settings, TimeSpan.FromSeconds(7), inOutage, 0.5));
    }

    [Fact]
    public void A_server_error_waits_its_jittered_backoff_and_is_charged_to_the_budget()
    {
        Assert.Equal(new RetryStep(true, TimeSpan.FromMilliseconds(250), ChargesBudget: true), RetryPlan.Next(OutcomeKind.Transient, 1, Settings, null, false, 0.25));
        Assert.Equal(new RetryStep(true, TimeSpan.FromSeconds(1.5), ChargesBudget: true), RetryPlan.Next(OutcomeKind.Transient, 2, Settings, null, false, 0.75));
    }

    [Fact]
    public void A_server_error_in_an_outage_keeps_its_backoff_and_is_not_charged()
    {
        Assert.Equal(new RetryStep(true, TimeSpan.FromSeconds(3), ChargesBudget: false), RetryPlan.Next(OutcomeKind.Transient, 2, Settings, TimeSpan.FromSeconds(3), inOutage: true, 0.5));
        Assert.Equal(new RetryStep(true, TimeSpan.FromSeconds(1), ChargesBudget: false), RetryPlan.Next(OutcomeKind.Transient, 2, Settings, null, inOutage: true, 0.5));
    }

    [Theory]
    [InlineData(OutcomeKind.Success)]
    [InlineData(OutcomeKind.Permanent)]
    [InlineData(OutcomeKind.QuotaExceeded)]
    public void Outcomes_that_are_never_retried_are_refused(OutcomeKind kind) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryPlan.Next(kind, 1, Settings, null, false, 0.5));

    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public void At_the_tail_a_retry_waits_until_the_window_ends_at_the_latest_when_that_is_sooner_and_never_less_than_nothing()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(300), RetryPlan.TailRetryDelay(Second, Now.AddMilliseconds(300), Second, 100, 3, 0, Now));
        Assert.Equal(TimeSpan.Zero, RetryPlan.TailRetryDelay(Second, Now.AddMilliseconds(-5), Second, 100, 1, 0, Now));
        // A window ending after the delay: the delay stands.
        Assert.Equal(Second, RetryPlan.TailRetryDelay(Second, Now.AddSeconds(2), Second, 100, 1, 0, Now));
    }

    [Fact]
    public void At_the_tail_a_first_retry_without_a_retry_after_waits_two_intervals_of_the_rate_at_most()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(20), RetryPlan.TailRetryDelay(Second, null, null, 100, 1, 0, Now));
        // Slower than its jittered backoff at a low rate: the backoff.
        Assert.Equal(TimeSpan.FromMilliseconds(700), RetryPlan.TailRetryDelay(TimeSpan.FromMilliseconds(700), null, null, 1, 1, 0, Now));
        // A later retry: the delay stands.
        Assert.Equal(Second, RetryPlan.TailRetryDelay(Second, null, null, 100, 2, 0, Now));
        Assert.Equal(Second, RetryPlan.TailRetryDelay(Second, null, TimeSpan.FromMilliseconds(10), 100, 2, 0, Now));
    }

    [Fact]
    public void At_the_tail_a_first_retry_waits_the_providers_floor_not_the_jitter_above_it()
    {
        // A bucket's pace read from its headers (10 ms), under a jittered backoff of 800 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(10), RetryPlan.TailRetryDelay(TimeSpan.FromMilliseconds(800), null, TimeSpan.FromMilliseconds(10), 100, 1, 0, Now));
        // A whole-second retry-after is the delay already: never under it.
        Assert.Equal(Second, RetryPlan.TailRetryDelay(Second, null, Second, 100, 1, 0, Now));
    }

    [Theory]
    [InlineData(30, 300)]
    [InlineData(50, 500)]
    [InlineData(99, 990)]
    [InlineData(100, 1000)]
    [InlineData(5000, 1000)]
    public void Requests_waiting_ahead_are_let_out_first_and_with_more_than_leave_within_the_delay_it_stands(int waiting, double expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryPlan.TailRetryDelay(Second, Now.AddMilliseconds(200), Second, 100, 1, waiting, Now));
}
