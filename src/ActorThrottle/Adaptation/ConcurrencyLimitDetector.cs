using ActorThrottle.Backend;

namespace ActorThrottle.Adaptation;

/// <summary>
/// Tells a provider's concurrency cap from its rate limit, and runs AIMD on the model's in-flight limit for it. Pure
/// (instants come in as arguments); one per model, driven by the supervisor.
/// </summary>
/// <remarks>
/// A concurrency cap (vLLM, Ollama, a gateway's <c>max_conns</c>) answers 429 with no rate header and no retry-after
/// (it cannot tell when a slot frees up) while N calls are in flight, and never below N: its rejections lie at in-flight levels at or above every level a call succeeded at. A rate
/// limit rejects at any level, so some of its 429s come at levels below recent successes. A 429 without rate hints
/// (<see cref="RateLimitInfo.HasRateHeaders"/>, <see cref="RateLimitInfo.RetryAfter"/>) sent at level n is therefore a concurrency rejection when, over the
/// recent <see cref="Window"/>, n is at least <see cref="MinimumCapLevel"/>, calls succeeded at concurrency (at a level of at least
/// n ÷ 2, one of them sent a latency or more before and since the model's last pause: the level was held, not just climbed
/// through), none at a level above n, and no headerless 429 came at a level below the highest success. Before successes come back, a burst's
/// 429s are a rate limit's (a bucket's burst), not evidence of a cap. Then the in-flight limit drops to n − 1 (the
/// cap just seen) and the rate is left alone. Once a cap has been seen at level c, a headerless 429 at c or above is that
/// cap again (the limit's probe meeting it), whatever successes the window holds from when the gate was wider; one below c
/// that the evidence does not make a cap shows it was a rate limit all along, and the cap is forgotten. Successes sent with the gate full raise the limit by one after
/// <see cref="IncreaseAfterRounds"/> × limit of them, probing for a cap that grew; the probe's 429 costs one retry.
/// </remarks>
internal sealed class ConcurrencyLimitDetector
{
    /// <summary>How far back (by send instant) outcomes count as evidence.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The lowest in-flight level whose 429 may be a cap's: at a few calls in flight (a provider answering in
    /// milliseconds) a rate limit's 429s come at levels 1 to 3 and look like a tiny cap, so caps under 3 go undetected.
    /// </summary>
    public const int MinimumCapLevel = 4;

    /// <summary>Successes with the gate full, in multiples of the limit, before the limit grows by one.</summary>
    public const int IncreaseAfterRounds = 10;

    // Not readonly: SetMax changes it when max-in-flight is set at run time.
    private int _max;
    private readonly Queue<(DateTimeOffset SentAt, int InFlight, bool Rejected, DateTimeOffset AnsweredAt)> _recent = new();
    private int _fullSuccesses;
    // The lowest level a cap's 429 was seen at: a headerless 429 at or above it is that cap again (the limit's probe meeting
    // it); one below it that the evidence does not make a cap refutes it (a rate limit taken for a cap at first).
    private int? _capAt;
    // The end of the model's last emptying pause: see Paused.
    private DateTimeOffset _resumedAt = DateTimeOffset.MinValue;

    /// <param name="maxInFlight">The configured <c>max-in-flight</c>: the limit starts and never grows above it.</param>
    public ConcurrencyLimitDetector(int maxInFlight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1, nameof(maxInFlight));
        _max = maxInFlight;
        Limit = maxInFlight;
    }

    /// <summary>The in-flight limit now.</summary>
    public int Limit { get; private set; }

    /// <summary>One attempt's outcome.</summary>
    /// <param name="kind">Its outcome.</param>
    /// <param name="inFlightAtSend">Calls in flight when it was sent, itself included.</param>
    /// <param name="rateHints">Whether its response carried rate-limit headers or a retry-after.</param>
    /// <param name="sentAt">When it was sent.</param>
    /// <param name="now">When its outcome arrived.</param>
    public ConcurrencyVerdict OnOutcome(OutcomeKind kind, int inFlightAtSend, bool rateHints, DateTimeOffset sentAt, DateTimeOffset now)
    {
        var before = Limit;
        while (_recent.Count > 0 && _recent.Peek().SentAt < now - Window)
        {
            _recent.Dequeue();
        }
        switch (kind)
        {
            case OutcomeKind.Success:
                _recent.Enqueue((sentAt, inFlightAtSend, false, now));
                if (inFlightAtSend >= Limit && Limit < _max && ++_fullSuccesses >= IncreaseAfterRounds * Limit)
                {
                    _fullSuccesses = 0;
                    Limit++;
                }
                return new ConcurrencyVerdict(false, Limit, Limit != before);
            case OutcomeKind.RateLimited when !rateHints:
                _recent.Enqueue((sentAt, inFlightAtSend, true, now));
                // Once a cap is known, the limit's own probe (one above it) meets it again: the evidence rule would see the
                // successes sent while the gate was wider (still within the window, at levels above this one) and call it a
                // rate limit, and rate control would answer a cap with an overload pause (benchmarks: concurrency-none
                // stalled at 0.05 of its limit under auto). A 429 at or above the level the cap was seen at is the cap.
                var probeMetCap = _capAt is { } capAt && inFlightAtSend >= capAt;
                if (!probeMetCap && !AtOrAboveEverySuccess(inFlightAtSend, sentAt))
                {
                    if (_capAt is { } seen && inFlightAtSend < seen)
                    {
                        // A cap does not reject below the level it rejected at: what was taken for one is a rate limit.
                        _capAt = null;
                    }
                    return new ConcurrencyVerdict(false, Limit, false);
                }
                _fullSuccesses = 0;
                _capAt = Math.Min(_capAt ?? inFlightAtSend, inFlightAtSend);
                Limit = Math.Max(1, Math.Min(Limit, inFlightAtSend - 1));
                return new ConcurrencyVerdict(true, Limit, Limit != before);
            default:
                return new ConcurrencyVerdict(false, Limit, false);
        }
    }

    /// <summary>
    /// No recent success above <paramref name="level"/>, no recent headerless 429 below the highest success, and the level
    /// held (see below).
    /// </summary>
    private bool AtOrAboveEverySuccess(int level, DateTimeOffset rejectedSentAt)
    {
        var highestSuccess = 0;
        var lowestRejection = int.MaxValue;
        var shortestLatency = TimeSpan.MaxValue;
        foreach (var (sentAt, inFlight, rejected, answeredAt) in _recent)
        {
            if (rejected)
            {
                lowestRejection = Math.Min(lowestRejection, inFlight);
                continue;
            }
            highestSuccess = Math.Max(highestSuccess, inFlight);
            shortestLatency = answeredAt - sentAt < shortestLatency ? answeredAt - sentAt : shortestLatency;
        }
        // Without successes at concurrency (at least half this level) there is no evidence of a cap: a rate limit rejects a
        // first burst before any success has come back.
        if (!(level >= MinimumCapLevel && highestSuccess >= level / 2 && level >= highestSuccess && lowestRejection >= highestSuccess))
        {
            return false;
        }
        // Nor when the level was only reached in a ramp: calls sent faster than a bucket refills climb in flight until it
        // runs out, and the first refused one is above every success, cap or no cap (real benchmark, tb-none 10x at
        // 100-300 ms: the ramp after an overload pause read as a cap of 12, and the run went at half its limit; the quick
        // virtual matrix did the same). A cap's level is held: a call at it (or at half of it) succeeded that was sent at
        // least a latency (the shortest seen) before this one, and since the model last paused (its throttle emptied: what
        // comes after is a new climb).
        foreach (var (sentAt, inFlight, rejected, _) in _recent)
        {
            if (!rejected && inFlight >= level / 2 && sentAt >= _resumedAt && sentAt <= rejectedSentAt - shortestLatency)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The model paused (an overload or an outage) until <paramref name="until"/>, its throttle emptied: the calls in flight
    /// drain, and levels reached before say nothing of the climb after it.
    /// </summary>
    public void Paused(DateTimeOffset until)
    {
        if (until > _resumedAt)
        {
            _resumedAt = until;
        }
    }

    /// <summary>
    /// A new <c>max-in-flight</c> (set at run time): a limit at the old maximum follows it; one lowered for a concurrency
    /// cap stays (the cap is the provider's) unless the new maximum is lower. Returns true when the limit changed.
    /// </summary>
    public bool SetMax(int maxInFlight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1, nameof(maxInFlight));
        var before = Limit;
        Limit = Limit >= _max ? maxInFlight : Math.Min(Limit, maxInFlight);
        _max = maxInFlight;
        _fullSuccesses = 0;
        return Limit != before;
    }
}
