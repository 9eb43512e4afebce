namespace ActorThrottle.Adaptation;

/// <summary>
/// Tells a fixed window from the exact readings OpenAI-style headers give on either a window or a bucket (a limit, a
/// remaining count and a millisecond reset). On a fixed window the reset counts down to the window's end, so the instant
/// each reading names (answered at + reset) stays put while the window lasts, the remaining count falls, and once that
/// instant has passed the next window's end is one window later and the count is back up. A bucket's end moves with every
/// reading (it is the time until the bucket is full again). Readings are taken at the send instant (a provider reckons
/// its headers when the request arrives) and may come back out of order. Two rollovers a window apart, the same length within
/// <see cref="Agreement"/>, show the window; its pace is then the limit over its length (the last limit read: a limit
/// that changes re-states it), which the caller may take as exactly as a policy's quota over its window. Pure: readings
/// come with their instants. Fixed memory.
/// </summary>
/// <remarks>
/// Without it a fixed window behind OpenAI's headers looked like nothing the engine could pace at: configured ten times too
/// high, the throttle spent each 1 s window's quota in its first 115 ms and drew 10-18 429s a second (virtual matrix,
/// fw-clock-1s-openai: 7.8 % of its attempts over the full backlog).
/// </remarks>
internal sealed class WindowReadings
{
    /// <summary>How far two readings' ends may differ and still name the same end: the provider rounds to milliseconds, answers take a few.</summary>
    public static readonly TimeSpan EndTolerance = TimeSpan.FromMilliseconds(25);

    /// <summary>Rollovers whose window lengths agree that show a window.</summary>
    public const int MinRollovers = 2;

    /// <summary>How far the window lengths of those rollovers may differ (as a share of the first).</summary>
    public const double Agreement = 0.05;

    /// <summary>Shortest window taken for one: under it, ends a few answers apart are scheduling noise.</summary>
    public static readonly TimeSpan MinWindow = TimeSpan.FromMilliseconds(200);

    private DateTimeOffset? _end;
    private DateTimeOffset? _previousEnd;
    private long _remaining;
    // Readings within the current window whose remaining count fell below the first one's: the window is being spent.
    private bool _spent;
    private TimeSpan? _length;
    private int _rollovers;
    private long _limit;

    /// <summary>The window's length once the readings show one; null before.</summary>
    public TimeSpan? Window => _rollovers >= MinRollovers ? _length : null;

    /// <summary>
    /// Adds one exact reading from a response answered at <paramref name="at"/> and returns the window's pace (limit ÷ its
    /// length, requests/s) when the readings held show a fixed window, else null.
    /// </summary>
    public double? Add(long limit, long remaining, TimeSpan reset, DateTimeOffset at)
    {
        if (limit <= 0 || remaining < 0 || reset <= TimeSpan.Zero)
        {
            return Verdict();
        }
        _limit = limit;
        var end = at + reset;
        if (_end is not { } current)
        {
            Start(end, remaining);
            return Verdict();
        }
        var gap = end - current;
        if (gap.Duration() <= EndTolerance)
        {
            // The same window (answers come back out of the order they were counted in: the lowest count is the latest).
            _spent |= remaining < _remaining;
            _remaining = Math.Min(_remaining, remaining);
            return Verdict();
        }
        if (_previousEnd is { } previous && (end - previous).Duration() <= EndTolerance)
        {
            // A late answer from the window before.
            return Verdict();
        }
        if (at >= current - EndTolerance && gap > TimeSpan.Zero && remaining > _remaining && _spent)
        {
            // The window ended and the next began: one window later, the count back up.
            if (gap >= MinWindow && (_length is not { } known || Math.Abs((gap - known).TotalSeconds) <= Agreement * known.TotalSeconds))
            {
                _length ??= gap;
                _rollovers++;
            }
            else
            {
                _length = gap >= MinWindow ? gap : null;
                _rollovers = gap >= MinWindow ? 1 : 0;
            }
            _previousEnd = current;
            _end = end;
            _remaining = remaining;
            _spent = false;
            return Verdict();
        }
        // The end moved within a window (a bucket's time to full), or came back while the window was not spent: no window.
        Forget(end, remaining);
        return Verdict();
    }

    private double? Verdict() => Window is { } w && _limit > 0 ? _limit / w.TotalSeconds : null;

    private void Start(DateTimeOffset end, long remaining)
    {
        _end = end;
        _remaining = remaining;
        _spent = false;
    }

    private void Forget(DateTimeOffset end, long remaining)
    {
        _previousEnd = null;
        _length = null;
        _rollovers = 0;
        Start(end, remaining);
    }
}
