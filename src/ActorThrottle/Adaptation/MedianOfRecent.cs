namespace ActorThrottle.Adaptation;

/// <summary>The median of the last <c>capacity</c> readings, once at least <c>minimum</c> exist. Fixed memory.</summary>
internal sealed class MedianOfRecent(int capacity, int minimum)
{
    private readonly double[] _ring = new double[capacity];
    private readonly double[] _sorted = new double[capacity];
    private int _next;
    private int _count;

    /// <summary>Adds a reading; returns the median of those held, or null while fewer than the minimum exist.</summary>
    public double? Add(double value)
    {
        _ring[_next] = value;
        _next = (_next + 1) % _ring.Length;
        _count = Math.Min(_count + 1, _ring.Length);
        if (_count < minimum)
        {
            return null;
        }
        Array.Copy(_ring, _sorted, _count);
        Array.Sort(_sorted, 0, _count);
        return _count % 2 == 1 ? _sorted[_count / 2] : (_sorted[_count / 2 - 1] + _sorted[_count / 2]) / 2;
    }
}
