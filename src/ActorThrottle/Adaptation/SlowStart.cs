namespace ActorThrottle.Adaptation;

/// <summary>
/// Finding a request rate nobody gave (<c>requests-per-second = auto</c>, nothing advertised): TCP's slow start on a
/// rate. A round is the successes of attempts sent at the current rate — at least <see cref="MinRoundSuccesses"/>, or
/// <see cref="RoundLength"/> of the rate's worth; when a round completes with every attempt of it accepted, the rate
/// was in use (its attempts were sent at at least half of it) and the round's mean latency has not climbed, the rate is
/// multiplied by <see cref="GrowthFactor"/>. It ends for good at the first 429, a header seed, or climbing latency (the
/// provider queues instead of rejecting); additive probing (AIMD) takes over. Pure state machine: time is passed in.
/// </summary>
internal sealed class SlowStart
{
    /// <summary>The rate's multiplier per round.</summary>
    public const double GrowthFactor = 2;

    /// <summary>Fewest successes that make a round, so a slow start rate still grows within seconds.</summary>
    public const int MinRoundSuccesses = 4;

    /// <summary>A round is this long at the rate it measures (or <see cref="MinRoundSuccesses"/>, whichever is more).</summary>
    public static readonly TimeSpan RoundLength = TimeSpan.FromMilliseconds(250);

    /// <summary>Latency has climbed when a round's mean exceeds this many times the lowest round mean seen ...</summary>
    public const double LatencyClimbFactor = 2;

    /// <summary>... and is at least this much above it (a few milliseconds of scheduling noise are no queue).</summary>
    public static readonly TimeSpan LatencyClimbMargin = TimeSpan.FromMilliseconds(50);

    private DateTimeOffset _roundStart;
    private int _successes;
    private DateTimeOffset _firstSent = DateTimeOffset.MaxValue;
    private DateTimeOffset _lastSent = DateTimeOffset.MinValue;
    private double _latencySum;
    private double? _baseLatency;

    /// <param name="start">When the start rate took effect: attempts sent before it do not count towards the first round.</param>
    public SlowStart(DateTimeOffset start)
    {
        _roundStart = start;
    }

    /// <summary>True until a 429, a seed or climbing latency ended it.</summary>
    public bool Active { get; private set; } = true;

    /// <summary>Why it ended (null while active).</summary>
    public string? EndedBecause { get; private set; }

    /// <summary>Ends slow start for good.</summary>
    public void End(string why)
    {
        if (Active)
        {
            Active = false;
            EndedBecause = why;
        }
    }

    /// <summary>
    /// An attempt sent at <paramref name="sentAt"/> succeeded at <paramref name="now"/> while the rate is
    /// <paramref name="rate"/>. Returns the rate to grow to when this success completes a round that earns growth; null otherwise.
    /// </summary>
    public double? OnSuccess(DateTimeOffset sentAt, DateTimeOffset now, double rate)
    {
        if (!Active || sentAt < _roundStart)
        {
            return null;
        }
        _successes++;
        _latencySum += Math.Max(0, (now - sentAt).TotalSeconds);
        if (sentAt < _firstSent)
        {
            _firstSent = sentAt;
        }
        if (sentAt > _lastSent)
        {
            _lastSent = sentAt;
        }
        var needed = Math.Max(MinRoundSuccesses, (int)Math.Ceiling(rate * RoundLength.TotalSeconds));
        if (_successes < needed)
        {
            return null;
        }
        var mean = _latencySum / _successes;
        var span = (_lastSent - _firstSent).TotalSeconds;
        // In use: the round's attempts left at least at half the rate (a quiet caller does not earn a higher rate).
        var inUse = span <= 0 || (_successes - 1) / span >= rate / 2;
        var climbed = _baseLatency is { } b && mean > b * LatencyClimbFactor && mean - b > LatencyClimbMargin.TotalSeconds;
        _baseLatency = _baseLatency is { } lowest ? Math.Min(lowest, mean) : mean;
        NewRound(now);
        if (climbed)
        {
            End("latency climbed");
            return null;
        }
        return inUse ? rate * GrowthFactor : null;
    }

    /// <summary>The rate changed for another reason at <paramref name="now"/>: what was counted measured the old rate.</summary>
    public void NewRound(DateTimeOffset now)
    {
        _roundStart = now;
        _successes = 0;
        _latencySum = 0;
        _firstSent = DateTimeOffset.MaxValue;
        _lastSent = DateTimeOffset.MinValue;
    }
}
