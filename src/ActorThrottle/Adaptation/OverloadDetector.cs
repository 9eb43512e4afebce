namespace ActorThrottle.Adaptation;

/// <summary>
/// Notices when the provider rejects most of a model's attempts — a run of 429s, not a stray one: more than half of the
/// answered attempts (successes and 429s) of the last cool-down, counting at least the last <see cref="MinOutcomes"/>
/// attempts when the cool-down holds fewer (a slow model), with at least <see cref="MinRejections"/> 429s. Sending on
/// then only deepens the overload, and where the provider charges rejected requests against the limit it puts its bucket
/// into debt (benchmarks, scenario 7). Fixed cost per outcome; time is passed in.
/// </summary>
internal sealed class OverloadDetector
{
    /// <summary>429s must be more than this share of the attempts counted.</summary>
    public const double Threshold = 0.5;

    /// <summary>Fewest 429s that make an overload: one or two are noise around the limit.</summary>
    public const int MinRejections = 4;

    /// <summary>Fewest attempts counted when the cool-down holds fewer.</summary>
    public const int MinOutcomes = 8;

    /// <summary>Attempts older than this never count, however few the newer ones are.</summary>
    public static readonly TimeSpan MaxLookback = TimeSpan.FromSeconds(10);

    private readonly TimeSpan _window;
    private readonly Queue<(DateTimeOffset At, bool Rejected, DateTimeOffset SentAt)> _outcomes = new();
    private int _rejected;

    /// <param name="window">The cool-down.</param>
    public OverloadDetector(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.Zero);
        _window = window;
    }

    /// <summary>Attempts counted at the last <see cref="Record"/> or <see cref="IsOverloaded"/>.</summary>
    public int Counted => _outcomes.Count;

    /// <summary>429s among them.</summary>
    public int Rejected => _rejected;

    /// <summary>The pure rule: more than <see cref="Threshold"/> of <paramref name="attempts"/> rejected, and at least <see cref="MinRejections"/>.</summary>
    public static bool IsOverload(int rejected, int attempts) =>
        rejected >= MinRejections && rejected > Threshold * attempts;

    /// <summary>When the earliest of the 429s counted was sent (null without one): the overload is about the rate from then on.</summary>
    public DateTimeOffset? EarliestRejectedSentAt
    {
        get
        {
            DateTimeOffset? earliest = null;
            foreach (var (_, rejected, sentAt) in _outcomes)
            {
                if (rejected && (earliest is null || sentAt < earliest))
                {
                    earliest = sentAt;
                }
            }
            return earliest;
        }
    }

    /// <summary>
    /// How far apart the 429s counted were sent (zero with fewer than two). 429s of attempts all sent in one release of the
    /// throttle's burst say the burst was too large for the provider's bucket, not that the rate is: the caller asks for a
    /// span of a few intervals at its rate before it calls them an overload.
    /// </summary>
    public TimeSpan RejectedSendSpan
    {
        get
        {
            DateTimeOffset? earliest = null, latest = null;
            foreach (var (_, rejected, sentAt) in _outcomes)
            {
                if (rejected)
                {
                    earliest = earliest is null || sentAt < earliest ? sentAt : earliest;
                    latest = latest is null || sentAt > latest ? sentAt : latest;
                }
            }
            return earliest is { } e && latest is { } l ? l - e : TimeSpan.Zero;
        }
    }

    /// <summary>An attempt sent at <paramref name="sentAt"/> (default: <paramref name="at"/>) was answered at <paramref name="at"/>: a 429 (<paramref name="rejected"/>) or a success.</summary>
    public void Record(DateTimeOffset at, bool rejected, DateTimeOffset? sentAt = null)
    {
        _outcomes.Enqueue((at, rejected, sentAt ?? at));
        if (rejected)
        {
            _rejected++;
        }
        Prune(at);
    }

    /// <summary>
    /// Whether the attempts counted at <paramref name="now"/> make an overload: by the rule over all of them, or over the
    /// storm's alone (<see cref="Storm"/>) once it holds <see cref="MinStormRejections"/> 429s, when the caller asks. A provider with a large burst (a sliding
    /// log of a second's quota) accepts a hundred before its first 429; counted with them, the 429s had to outnumber a
    /// second's worth of successes before the rate came down (benchmarks: 34 % 429s on a sliding log configured 10x too high).
    /// </summary>
    /// <param name="now">The instant.</param>
    /// <param name="countStorm">Whether the storm's own count may make an overload (the caller's rate is not yet known to hold).</param>
    public bool IsOverloaded(DateTimeOffset now, bool countStorm = false)
    {
        Prune(now);
        if (IsOverload(_rejected, _outcomes.Count))
        {
            return true;
        }
        if (!countStorm || _rejected < MinStormRejections)
        {
            return false;
        }
        var storm = Storm;
        return IsOverload(storm.Rejected, storm.Attempts);
    }

    /// <summary>
    /// Fewest 429s that make a storm an overload on their own: an opening burst of 10 spilling over a sliding log draws about
    /// 8 at the limit, and a window's end a few more; ten times too fast draws this many within a few dozen milliseconds.
    /// </summary>
    public const int MinStormRejections = 16;

    /// <summary>
    /// The attempts counted that were sent since the earliest 429 counted was, and the 429s among them: what the provider
    /// did with what was offered once it began to refuse. Successes sent before it drew on the provider's burst, not its rate.
    /// </summary>
    public (int Attempts, int Rejected) Storm
    {
        get
        {
            if (EarliestRejectedSentAt is not { } since)
            {
                return (0, 0);
            }
            var attempts = 0;
            foreach (var (_, _, sentAt) in _outcomes)
            {
                if (sentAt >= since)
                {
                    attempts++;
                }
            }
            return (attempts, _rejected);
        }
    }

    /// <summary>Forgets every attempt (after the model paused for an overload, the count starts again).</summary>
    public void Reset()
    {
        _outcomes.Clear();
        _rejected = 0;
    }

    private void Prune(DateTimeOffset now)
    {
        while (_outcomes.TryPeek(out var oldest)
               && (now - oldest.At > MaxLookback || (_outcomes.Count > MinOutcomes && now - oldest.At > _window)))
        {
            _outcomes.Dequeue();
            if (oldest.Rejected)
            {
                _rejected--;
            }
        }
    }
}
