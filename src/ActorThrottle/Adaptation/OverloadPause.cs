using ActorThrottle.Configuration;

namespace ActorThrottle.Adaptation;

/// <summary>How long a model pauses when <see cref="OverloadDetector"/> finds it overloaded. Pure.</summary>
internal static class OverloadPause
{
    /// <summary>
    /// The provider's <c>retry-after</c> of the 429 that tipped it, capped at <c>retry.max-retry-after</c>; without one,
    /// <c>retry.base-delay · 2^(n−1)</c> for the n-th pause in a row (no success in between), capped at
    /// <c>retry.max-delay</c>. No jitter: the whole model waits, not a crowd of callers.
    /// </summary>
    /// <param name="retryAfter">The 429's retry-after; null when the provider sent none.</param>
    /// <param name="consecutive">1 for the first pause since a success, 2 for the next, …</param>
    public static TimeSpan Length(TimeSpan? retryAfter, int consecutive, RetrySettings retry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(consecutive, 1);
        if (retryAfter is { } wait)
        {
            return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait > retry.MaxRetryAfter ? retry.MaxRetryAfter : wait;
        }
        var doublings = Math.Min(consecutive - 1, 30);
        var backoff = retry.BaseDelay.Ticks * Math.Pow(2, doublings);
        return backoff >= retry.MaxDelay.Ticks ? retry.MaxDelay : TimeSpan.FromTicks((long)backoff);
    }
}
