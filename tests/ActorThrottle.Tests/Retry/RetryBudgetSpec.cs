using ActorThrottle.Retry;
using Xunit;

namespace ActorThrottle.Tests.Retry;

public sealed class RetryBudgetSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Retries_are_limited_to_the_ratio_of_requests_plus_the_floor()
    {
        var budget = new RetryBudget(ratio: 0.2, window: TimeSpan.FromSeconds(10), minPerSecond: 0.5);
        for (var i = 0; i < 100; i++)
        {
            budget.RecordRequest(T0);
        }
        // 0.2 × 100 + 0.5 × 10 = 25 retries.
        var granted = Enumerable.Range(0, 40).Count(_ => budget.TryAcquireRetry(T0));
        Assert.Equal(25, granted);
    }

    [Fact]
    public void A_quiet_model_can_still_retry_from_the_floor()
    {
        var budget = new RetryBudget(ratio: 0.2, window: TimeSpan.FromSeconds(10), minPerSecond: 1);
        budget.RecordRequest(T0);
        Assert.Equal(10, Enumerable.Range(0, 20).Count(_ => budget.TryAcquireRetry(T0)));
    }

    [Fact]
    public void With_no_ratio_and_no_floor_nothing_is_retried()
    {
        var budget = new RetryBudget(ratio: 0, window: TimeSpan.FromSeconds(10), minPerSecond: 0);
        budget.RecordRequest(T0);
        Assert.False(budget.TryAcquireRetry(T0));
    }

    [Fact]
    public void Old_requests_and_retries_leave_the_window()
    {
        var budget = new RetryBudget(ratio: 1, window: TimeSpan.FromSeconds(10), minPerSecond: 0);
        for (var i = 0; i < 5; i++)
        {
            budget.RecordRequest(T0);
        }
        Assert.Equal(5, Enumerable.Range(0, 10).Count(_ => budget.TryAcquireRetry(T0)));
        var later = T0 + TimeSpan.FromSeconds(11);
        Assert.False(budget.TryAcquireRetry(later));
        budget.RecordRequest(later);
        Assert.True(budget.TryAcquireRetry(later));
        Assert.Equal(0, budget.Available(later), 6);
    }

    [Fact]
    public void A_clock_that_jumps_back_does_not_keep_stale_counts_forever()
    {
        var budget = new RetryBudget(ratio: 1, window: TimeSpan.FromSeconds(10), minPerSecond: 0);
        budget.RecordRequest(T0 + TimeSpan.FromMinutes(5));
        budget.RecordRequest(T0);
        Assert.Equal(1, budget.Available(T0), 6);
    }
}
