namespace ActorThrottle.Simulator.Tests;

public sealed class SlidingWindowTests
{
    [Fact]
    public void Empty_has_zero()
    {
        Assert.Equal(0, SlidingWindow.MaxCount([], 10));
    }

    [Fact]
    public void Windows_are_half_open()
    {
        long[] stamps = [0, 5, 10, 15];
        Assert.Equal(2, SlidingWindow.MaxCount(stamps, 10));
        Assert.Equal(3, SlidingWindow.MaxCount(stamps, 11));
        Assert.Equal(1, SlidingWindow.MaxCount(stamps, 5));
    }

    [Fact]
    public void Finds_the_densest_stretch()
    {
        long[] stamps = [0, 100, 200, 201, 202, 203, 300, 400];
        Assert.Equal(4, SlidingWindow.MaxCount(stamps, 4));
        Assert.Equal(4, SlidingWindow.MaxCount(stamps, 100));
        Assert.Equal(5, SlidingWindow.MaxCount(stamps, 101));
    }

    [Fact]
    public void Ring_keeps_the_last_n_in_order()
    {
        var ring = new TimestampRing(5);
        for (var i = 1; i <= 12; i++)
        {
            ring.Add(i);
        }

        Assert.Equal(5, ring.Count);
        Assert.Equal([8L, 9, 10, 11, 12], ring.ToArray());
        ring.Clear();
        Assert.Empty(ring.ToArray());
    }

    [Fact]
    public void Ring_grows_before_it_wraps()
    {
        var ring = new TimestampRing(100);
        for (var i = 0; i < 40; i++)
        {
            ring.Add(i);
        }

        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), ring.ToArray());
    }
}
