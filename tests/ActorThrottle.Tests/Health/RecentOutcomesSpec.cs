using ActorThrottle.Backend;
using ActorThrottle.Models;
using Xunit;

namespace ActorThrottle.Tests.Health;

/// <summary>The bounded record of a model's recent outcomes behind <see cref="ModelStatus.Recent"/>.</summary>
public sealed class RecentOutcomesSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Outcomes_are_counted_by_kind_and_a_call_without_an_http_answer_is_no_response()
    {
        var recent = new RecentOutcomes();
        recent.RecordAttempt(T0, OutcomeKind.Success, gotHttpAnswer: true);
        recent.RecordAttempt(T0, OutcomeKind.RateLimited, gotHttpAnswer: true);
        recent.RecordAttempt(T0, OutcomeKind.Transient, gotHttpAnswer: false);
        recent.RecordAttempt(T0, OutcomeKind.Transient, gotHttpAnswer: true);
        recent.RecordAttempt(T0, OutcomeKind.Permanent, gotHttpAnswer: true);
        recent.RecordAttempt(T0, OutcomeKind.QuotaExceeded, gotHttpAnswer: true);
        recent.RecordQueueFull(T0);
        Assert.Equal(new RecentAttempts(6, 1, 1, 1, 3, 1), recent.Summarise(T0));
    }

    [Fact]
    public void Only_the_window_counts_and_nothing_recent_is_none()
    {
        var recent = new RecentOutcomes();
        recent.RecordAttempt(T0, OutcomeKind.Transient, gotHttpAnswer: false);
        recent.RecordAttempt(T0 + TimeSpan.FromSeconds(30), OutcomeKind.Success, gotHttpAnswer: true);
        Assert.Equal(new RecentAttempts(2, 1, 0, 1, 0, 0), recent.Summarise(T0 + RecentOutcomes.Window));
        Assert.Equal(new RecentAttempts(1, 1, 0, 0, 0, 0), recent.Summarise(T0 + RecentOutcomes.Window + TimeSpan.FromTicks(1)));
        Assert.Same(RecentAttempts.None, recent.Summarise(T0 + TimeSpan.FromMinutes(5)));
        Assert.Same(RecentAttempts.None, new RecentOutcomes().Summarise(T0));
    }

    [Fact]
    public void At_most_the_capacity_is_kept_newest_first()
    {
        var recent = new RecentOutcomes();
        for (var i = 0; i < RecentOutcomes.Capacity; i++)
        {
            recent.RecordAttempt(T0, OutcomeKind.Transient, gotHttpAnswer: false);
        }
        for (var i = 0; i < 10; i++)
        {
            recent.RecordAttempt(T0, OutcomeKind.Success, gotHttpAnswer: true);
        }
        Assert.Equal(new RecentAttempts(RecentOutcomes.Capacity, 10, 0, RecentOutcomes.Capacity - 10, 0, 0), recent.Summarise(T0));
    }
}
