using ActorThrottle.Adaptation;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class RecentInstantsSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Holds_nothing_until_room_is_asked_for()
    {
        var ring = new RecentInstants(8);
        ring.Record(T0);
        Assert.Null(ring.NthLatest(1));
    }

    [Fact]
    public void The_nth_latest_is_counted_from_the_newest_and_the_oldest_fall_out()
    {
        var ring = new RecentInstants(8);
        Assert.True(ring.EnsureCapacity(3));
        for (var i = 0; i < 5; i++)
        {
            ring.Record(T0.AddSeconds(i));
        }
        Assert.Equal(T0.AddSeconds(4), ring.NthLatest(1));
        Assert.Equal(T0.AddSeconds(2), ring.NthLatest(3));
        Assert.Null(ring.NthLatest(4));
        Assert.Null(ring.NthLatest(0));
    }

    [Fact]
    public void Growing_keeps_what_was_held_in_order()
    {
        var ring = new RecentInstants(8);
        ring.EnsureCapacity(3);
        for (var i = 0; i < 5; i++)
        {
            ring.Record(T0.AddSeconds(i));
        }
        Assert.True(ring.EnsureCapacity(6));
        ring.Record(T0.AddSeconds(5));
        Assert.Equal([5, 4, 3, 2], Enumerable.Range(1, 4).Select(n => (ring.NthLatest(n)!.Value - T0).TotalSeconds));
        Assert.Null(ring.NthLatest(5));
    }

    [Fact]
    public void A_quota_above_the_maximum_is_not_tracked()
    {
        var ring = new RecentInstants(8);
        Assert.False(ring.EnsureCapacity(9));
        ring.Record(T0);
        Assert.Null(ring.NthLatest(1));
    }
}
