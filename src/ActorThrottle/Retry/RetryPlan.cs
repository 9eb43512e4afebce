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
}
