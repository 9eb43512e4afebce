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
}
