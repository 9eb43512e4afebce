namespace ActorThrottle.Simulator;

/// <summary>
/// The last N timestamps in arrival order. Grows on demand up to its capacity, so a model with the
/// default capacity of a million does not pay 8 MB until it has accepted that many.
/// </summary>
internal sealed class TimestampRing
{
    private readonly int _capacity;
    private long[] _items;
    private int _start;
    private int _count;

    public TimestampRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _items = new long[Math.Min(16, capacity)];
    }

    public int Count => _count;

    public void Add(long timestamp)
    {
        if (_count == _items.Length && _items.Length < _capacity)
        {
            var grown = new long[Math.Min(_capacity, _items.Length * 2)];
            CopyTo(grown);
            _items = grown;
            _start = 0;
        }

        if (_count < _items.Length)
        {
            _items[(_start + _count) % _items.Length] = timestamp;
            _count++;
        }
        else
        {
            _items[_start] = timestamp;
            _start = (_start + 1) % _items.Length;
        }
    }

    public long[] ToArray()
    {
        var copy = new long[_count];
        CopyTo(copy);
        return copy;
    }

    public void Clear()
    {
        _start = 0;
        _count = 0;
    }

    private void CopyTo(long[] target)
    {
        for (var i = 0; i < _count; i++)
        {
            target[i] = _items[(_start + i) % _items.Length];
        }
    }
}
