namespace ActorThrottle.Timeline;

/// <summary>
/// Answers per second over a sliding window of samples, and the ETA it gives for what is left. Not thread-safe: one
/// progress loop samples and reads it.
/// </summary>
public sealed class ProgressRate(TimeSpan window)
{
    private readonly Queue<(TimeSpan At, long Done)> _samples = new();

    public ProgressRate() : this(TimeSpan.FromSeconds(10))
    {
    }

    /// <summary>At <paramref name="elapsed"/> since the start, <paramref name="done"/> items were finished.</summary>
    public void Sample(TimeSpan elapsed, long done)
    {
        _samples.Enqueue((elapsed, done));
        while (_samples.Count > 2 && elapsed - _samples.Peek().At > window)
        {
            _samples.Dequeue();
        }
    }

    /// <summary>Items per second over the window; 0 before two samples.</summary>
    public double Rate
    {
        get
        {
            if (_samples.Count < 2)
            {
                return 0;
            }
            var first = _samples.Peek();
            var last = _samples.Last();
            var seconds = (last.At - first.At).TotalSeconds;
            return seconds <= 0 ? 0 : (last.Done - first.Done) / seconds;
        }
    }

    /// <summary>Time left at the current rate; null when the total is unknown (negative) or nothing is moving.</summary>
    public TimeSpan? Eta(long total, long done)
    {
        var rate = Rate;
        if (total < 0 || rate <= 0)
        {
            return null;
        }
        return TimeSpan.FromSeconds(Math.Max(0, total - done) / rate);
    }

    /// <summary><c>m:ss</c>, or <c>h:mm:ss</c> from an hour on.</summary>
    public static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture)
            : t.ToString(@"m\:ss", System.Globalization.CultureInfo.InvariantCulture);
}
