namespace ActorThrottle.Adaptation;

/// <summary>
/// The latest instants recorded, newest last, in a ring that grows on demand up to <see cref="MaxCapacity"/>: nothing is
/// held until <see cref="EnsureCapacity"/> asks for room, so a model whose provider states no windowed quota keeps none.
/// </summary>
internal sealed class RecentInstants(int maxCapacity)
{
    /// <summary>The most a ring holds: a quota above it (a per-minute window of 10,000) is not tracked.</summary>
    public const int MaxCapacity = 4096;

    private long[] _ticks = [];
    private int _next;
    private int _count;

    /// <summary>Room for the latest <paramref name="needed"/> instants; false when that is more than the ring may hold.</summary>
    public bool EnsureCapacity(long needed)
    {
        if (needed > maxCapacity)
        {
            return false;
        }
        if (needed <= _ticks.Length)
        {
            return true;
        }
        // Oldest first into the larger ring, so the positions stay in order.
        var grown = new long[needed];
        for (var i = 0; i < _count; i++)
        {
            grown[i] = _ticks[(_next - _count + i + _ticks.Length) % _ticks.Length];
        }
        _ticks = grown;
        _next = _count % grown.Length;
        return true;
    }

    /// <summary>Records an instant (dropped while no room was asked for).</summary>
    public void Record(DateTimeOffset at)
    {
        if (_ticks.Length == 0)
        {
            return;
        }
        _ticks[_next] = at.UtcTicks;
        _next = (_next + 1) % _ticks.Length;
        _count = Math.Min(_count + 1, _ticks.Length);
    }

    /// <summary>The <paramref name="n"/>-th latest instant recorded (1: the latest), or null when fewer are held.</summary>
    public DateTimeOffset? NthLatest(long n)
    {
        if (n < 1 || n > _count)
        {
            return null;
        }
        return new DateTimeOffset(_ticks[(_next - (int)n + _ticks.Length) % _ticks.Length], TimeSpan.Zero);
    }
}
