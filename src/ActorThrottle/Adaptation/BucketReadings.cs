namespace ActorThrottle.Adaptation;

/// <summary>
/// Tells a continuously refilled bucket from a fixed window when both send a limit, a remaining count and an exact
/// (millisecond) reset, as OpenAI's <c>x-ratelimit-*-requests</c> do on either. On a bucket whose reset is the time until
/// it is full again, (limit − remaining) ÷ reset is its refill rate whatever the deficit and whenever it is read; on a
/// fixed window the same ratio is the count so far over the time left, which grows with the count and as the window
/// ends. So readings that agree while the deficit they were read at doubled, or over a quarter of the reset they imply, are
/// the bucket's refill rate, and the caller may take them as the provider's statement of its pace (lower a configured
/// rate to it). Pure: readings come with their instants. Fixed memory.
/// </summary>
internal sealed class BucketReadings
{
    /// <summary>Readings held (the newest).</summary>
    public const int Capacity = 9;

    /// <summary>Readings needed before any verdict.</summary>
    public const int MinReadings = 5;

    /// <summary>How far every reading held may lie from their median and still agree (remaining is whole, ±1 in ten or more).</summary>
    public const double Agreement = 0.08;

    /// <summary>Deficits this many times apart show the ratio does not grow with the count.</summary>
    public const double DeficitSpread = 2;

    /// <summary>
    /// Readings this share of their reset apart show it is a refill time, not a window's end: a window's count over the time
    /// left rises by a third over a quarter of the time left, more than <see cref="Agreement"/> lets readings differ.
    /// </summary>
    public const double TimeSpread = 0.25;

    private readonly (double Rate, double Deficit, double ResetSeconds, DateTimeOffset At)[] _ring = new (double, double, double, DateTimeOffset)[Capacity];
    private readonly double[] _sorted = new double[Capacity];
    private int _next;
    private int _count;
    private (double Deficit, DateTimeOffset At, TimeSpan Reset) _last;
    private double? _verdict;

    /// <summary>
    /// Adds one exact reading — <paramref name="rate"/> = (deficit − ½) ÷ reset, read from a response answered at
    /// <paramref name="at"/> — and returns the bucket's refill rate (the median held) when the readings held show a bucket,
    /// else null. A reading within a tenth of the last one held, in deficit and in time (a sixteenth of its reset), is
    /// not held (the verdict stands): at a thousand answers a second, nine in a row would span a few milliseconds and one deficit.
    /// </summary>
    public double? Add(double rate, double deficit, TimeSpan reset, DateTimeOffset at)
    {
        if (rate <= 0 || deficit <= 0 || reset <= TimeSpan.Zero)
        {
            return null;
        }
        if (_count > 0 && Math.Abs(deficit - _last.Deficit) < 0.1 * _last.Deficit && at - _last.At < _last.Reset / 16)
        {
            return _verdict;
        }
        _last = (deficit, at, reset);
        _ring[_next] = (rate, deficit, reset.TotalSeconds, at);
        _next = (_next + 1) % Capacity;
        _count = Math.Min(_count + 1, Capacity);
        _verdict = Verdict();
        return _verdict;
    }

    private double? Verdict()
    {
        if (_count < MinReadings)
        {
            return null;
        }
        for (var i = 0; i < _count; i++)
        {
            _sorted[i] = _ring[i].Rate;
        }
        Array.Sort(_sorted, 0, _count);
        var median = _count % 2 == 1 ? _sorted[_count / 2] : (_sorted[_count / 2 - 1] + _sorted[_count / 2]) / 2;
        if (_sorted[0] < median * (1 - Agreement) || _sorted[_count - 1] > median * (1 + Agreement))
        {
            return null;
        }
        double minDeficit = double.MaxValue, maxDeficit = 0, resets = 0;
        DateTimeOffset first = DateTimeOffset.MaxValue, last = DateTimeOffset.MinValue;
        for (var i = 0; i < _count; i++)
        {
            var r = _ring[i];
            minDeficit = Math.Min(minDeficit, r.Deficit);
            maxDeficit = Math.Max(maxDeficit, r.Deficit);
            resets += r.ResetSeconds;
            first = r.At < first ? r.At : first;
            last = r.At > last ? r.At : last;
        }
        var spreadOverDeficits = maxDeficit >= DeficitSpread * minDeficit;
        var spreadOverTime = (last - first).TotalSeconds >= resets / _count * TimeSpread;
        if (!spreadOverDeficits && !spreadOverTime)
        {
            return null;
        }
        // Pooled, Σ(deficit − ½) ÷ Σ reset: the readings of larger deficits, whose whole-unit rounding matters less, weigh
        // more (a median of readings at a deficit of 10 read 5 % low on virtual time, and a rate capped there stays low).
        double spent = 0;
        for (var i = 0; i < _count; i++)
        {
            spent += _ring[i].Rate * _ring[i].ResetSeconds;
        }
        return spent / resets;
    }

    /// <summary>Forgets every reading.</summary>
    public void Clear()
    {
        _next = 0;
        _count = 0;
        _verdict = null;
    }
}
