using ActorThrottle.Backend;
using ActorThrottle.Configuration;

namespace ActorThrottle.Retry;

/// <summary>What becomes of a request whose attempt failed with a retryable outcome: given up, or retried after a delay.</summary>
/// <param name="Retry">False: <c>retry.max-attempts</c> is spent and the request is answered with its last error.</param>
/// <param name="Delay">How long the request waits before it re-enters the throttle.</param>
/// <param name="ChargesBudget">Whether the retry takes one from the retry budget (<see cref="RetryBudget"/>).</param>
internal readonly record struct RetryStep(bool Retry, TimeSpan Delay, bool ChargesBudget)
{
    public static readonly RetryStep GiveUp = new(false, TimeSpan.Zero, false);
}

/// <summary>The retry decision for one failed attempt, pure: ModelSupervisor applies it with its timers and budget.</summary>
internal static class RetryPlan
{
    /// <summary>
    /// After <paramref name="attempts"/> attempts, the last of them answered <paramref name="kind"/>: give up at
    /// <c>retry.max-attempts</c>; else wait <see cref="RetryDelay"/> (full jitter, never before the retry-after). 429 retries
    /// are not charged to the budget: they re-enter the throttle, whose rate AIMD is lowering, so they cannot add load. Nor
    /// are server errors during an outage (<paramref name="inOutage"/>): the model itself is paused and probes one attempt
    /// at a time, so its retries cannot storm. Those keep their backoff (a lone request spends its attempts no faster than
    /// without an outage); the caller sends every request waiting after a server error at once when the provider answers
    /// again, as a backoff of up to retry.max-delay would leave them idle after it (virtual matrix, schedule-529: a 30 s
    /// outage ended in 1,216 of 4,000 failures and a tail of retries).
    /// </summary>
    /// <param name="retryFloor">The provider's retry-after as a floor (<see cref="RateLimitPause.RetryFloor"/>), null without one.</param>
    /// <param name="random01">A uniform draw from [0, 1) for the jitter.</param>
    public static RetryStep Next(OutcomeKind kind, int attempts, RetrySettings retry, TimeSpan? retryFloor, bool inOutage, double random01)
    {
        ArgumentNullException.ThrowIfNull(retry);
        if (kind is not (OutcomeKind.RateLimited or OutcomeKind.Transient))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "only 429s and server errors are retried.");
        }
        if (attempts >= retry.MaxAttempts)
        {
            return RetryStep.GiveUp;
        }
        return new RetryStep(true, RetryDelay.Compute(attempts, retry, retryFloor, random01), ChargesBudget: kind == OutcomeKind.Transient && !inOutage);
    }

    /// <summary>
    /// The wait of a 429's retry at the tail of a backlog: when the requests waiting ahead of it (<paramref name="waiting"/>)
    /// leave at the model's <paramref name="rate"/> before <paramref name="delay"/> is over, the provider would sit idle while
    /// the retry waits, and the retry goes once they have left or at the earliest the provider takes it, whichever is later:
    /// <list type="bullet">
    /// <item>a window of known quota (<paramref name="windowEnd"/>: when the window that refused it ends at the latest,
    /// <see cref="Adaptation.RateController.QuotaWindowEnd"/>): then. A whole-second retry-after bounds a window's end only to
    /// the second (real benchmark, fw-drift-1s-ietf7 known at latency 0: three runs of five ended a second late, 0.91).</item>
    /// <item>otherwise, for a first retry: the provider's floor (<paramref name="retryFloor"/>: its retry-after, or a bucket's
    /// pace read from its headers), or without one two intervals of the rate, as the next request's worth is back after one
    /// on a bucket refilled at about that rate. The jitter is for a crowd, and a 100/s GCRA's last refusal waited up to a
    /// second of it (real benchmark, gcra-ietf-separate 10× at latency 0: two runs of five at 0.94-0.95). Later retries keep
    /// their backoff, so a lone request does not spend its attempts in milliseconds on a provider that stays shut.</item>
    /// </list>
    /// With more waiting than leave within the delay, <paramref name="delay"/> stands. Only a window's bound may come before
    /// the provider's floor (a whole-second retry-after); nothing else does.
    /// </summary>
    /// <param name="delay">The retry's delay from <see cref="Next"/>.</param>
    /// <param name="attempts">Attempts made so far (1 after the first).</param>
    /// <param name="waiting">Requests of the model waiting to be sent, this one not counted.</param>
    public static TimeSpan TailRetryDelay(TimeSpan delay, DateTimeOffset? windowEnd, TimeSpan? retryFloor, double rate, int attempts, int waiting, DateTimeOffset now)
    {
        if (rate <= 0)
        {
            return delay;
        }
        var drained = TimeSpan.FromSeconds(waiting / rate);
        TimeSpan earliest;
        if (windowEnd is { } end)
        {
            earliest = end > now ? end - now : TimeSpan.Zero;
        }
        else if (attempts == 1)
        {
            // The provider's own floor when it gave one (a bucket's pace read from its headers: 10 ms on a 100/s GCRA that
            // says retry-after: 1), else two intervals of the rate.
            earliest = retryFloor ?? TimeSpan.FromSeconds(2 / rate);
        }
        else
        {
            return delay;
        }
        var tail = earliest > drained ? earliest : drained;
        return tail < delay ? tail : delay;
    }
}
