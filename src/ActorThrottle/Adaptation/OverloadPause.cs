using ActorThrottle.Configuration;

namespace ActorThrottle.Adaptation;

/// <summary>How long a model pauses when <see cref="OverloadDetector"/> finds it overloaded. Pure.</summary>
internal static class OverloadPause
{
    /// <summary>
    /// The provider's <c>retry-after</c> of the 429 that tipped it, capped at <c>retry.max-retry-after</c>; without one,
    /// <c>first · 2^(n−1)</c> for the n-th pause in a row (no success in between), capped at <c>retry.max-delay</c>, where
    /// <c>first</c> is the smaller of <c>retry.base-delay</c> and <paramref name="coolDown"/>: the rate was halved with the
    /// pause, and a provider that says nothing is as often a bucket refilled in a fraction of a second as a window to wait
    /// out (virtual matrix: a headerless 100/s bucket configured 10x too high sat out three 1 s pauses, 0.60 of its limit).
    /// No jitter: the whole model waits, not a crowd of callers.
    /// </summary>
    /// <param name="retryAfter">The 429's retry-after; null when the provider sent none.</param>
    /// <param name="consecutive">1 for the first pause since a success, 2 for the next, …</param>
    /// <param name="coolDown">adapt.cool-down: the first pause without a retry-after is at most this long.</param>
    /// <param name="longest">Where the doubling stops instead of retry.max-delay (an outage probes at least this often); never below the first pause.</param>
    public static TimeSpan Length(TimeSpan? retryAfter, int consecutive, RetrySettings retry, TimeSpan coolDown, TimeSpan? longest = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(consecutive, 1);
        if (retryAfter is { } wait)
        {
            return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait > retry.MaxRetryAfter ? retry.MaxRetryAfter : wait;
        }
        var doublings = Math.Min(consecutive - 1, 30);
        var first = coolDown > TimeSpan.Zero && coolDown < retry.BaseDelay ? coolDown : retry.BaseDelay;
        var backoff = first.Ticks * Math.Pow(2, doublings);
        var cap = longest is { } l && l < retry.MaxDelay ? (l > first ? l : first) : retry.MaxDelay;
        return backoff >= cap.Ticks ? cap : TimeSpan.FromTicks((long)backoff);
    }
}
