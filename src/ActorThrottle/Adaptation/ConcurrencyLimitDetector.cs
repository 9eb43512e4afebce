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
/// n ÷ 2), none at a level above n, and no headerless 429 came at a level below the highest success. Before successes come back, a burst's
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
    private readonly Queue<(DateTimeOffset SentAt, int InFlight, bool Rejected)> _recent = new();
    private int _fullSuccesses;
    // The lowest level a cap's 429 was seen at: a headerless 429 at or above it is that cap again (the limit's probe meeting
    // it); one below it that the evidence does not make a cap refutes it (a rate limit taken for a cap at first).
    private int? _capAt;

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
                _recent.Enqueue((sentAt, inFlightAtSend, false));
                if (inFlightAtSend >= Limit && Limit < _max && ++_fullSuccesses >= IncreaseAfterRounds * Limit)
                {
                    _fullSuccesses = 0;
                    Limit++;
                }
                return new ConcurrencyVerdict(false, Limit, Limit != before);
            case OutcomeKind.RateLimited when !rateHints:
                _recent.Enqueue((sentAt, inFlightAtSend, true));
                // Once a cap is known, the limit's own probe (one above it) meets it again: the evidence rule would see the
                // successes sent while the gate was wider (still within the window, at levels above this one) and call it a
                // rate limit, and rate control would answer a cap with an overload pause (benchmarks: concurrency-none
                // stalled at 0.05 of its limit under auto). A 429 at or above the level the cap was seen at is the cap.
                var probeMetCap = _capAt is { } capAt && inFlightAtSend >= capAt;
                if (!probeMetCap && !AtOrAboveEverySuccess(inFlightAtSend))
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

    /// <summary>No recent success above <paramref name="level"/>, and no recent headerless 429 below the highest success.</summary>
    private bool AtOrAboveEverySuccess(int level)
    {
        var highestSuccess = 0;
        var lowestRejection = int.MaxValue;
        foreach (var (_, inFlight, rejected) in _recent)
        {
            if (rejected)
            {
                lowestRejection = Math.Min(lowestRejection, inFlight);
            }
            else
            {
                highestSuccess = Math.Max(highestSuccess, inFlight);
            }
        }
        // Without successes at concurrency (at least half this level) there is no evidence of a cap: a rate limit rejects a
        // first burst before any success has come back.
        return level >= MinimumCapLevel && highestSuccess >= level / 2 && level >= highestSuccess && lowestRejection >= highestSuccess;
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
