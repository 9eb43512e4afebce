using ActorThrottle.Configuration;

namespace ActorThrottle.Retry;

/// <summary>Backoff before a retry: exponential with full jitter, never shorter than the provider's retry-after.</summary>
internal static class RetryDelay
{
    /// <summary>
    /// The wait before retry number <paramref name="retryNumber"/> (1 for the first retry):
    /// <c>random(0, min(max-delay, base-delay · 2^(n-1)))</c>, raised to the provider's retry-after
    /// (itself capped at <c>max-retry-after</c>).
    /// </summary>
    /// <param name="random01">A uniform draw from [0, 1), injected so the result is reproducible.</param>
    public static TimeSpan Compute(int retryNumber, RetrySettings settings, TimeSpan? retryAfter, double random01)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryNumber, 1);
        if (random01 is < 0 or >= 1 || double.IsNaN(random01))
        {
            throw new ArgumentOutOfRangeException(nameof(random01), random01, "must be in [0, 1).");
        }
        var ceiling = ExponentialCeiling(retryNumber, settings.BaseDelay, settings.MaxDelay);
        var jittered = TimeSpan.FromTicks((long)(ceiling.Ticks * random01));
        if (retryAfter is { } hint && hint > TimeSpan.Zero)
        {
            var capped = hint > settings.MaxRetryAfter ? settings.MaxRetryAfter : hint;
            return capped > jittered ? capped : jittered;
        }
        return jittered;
    }

    /// <summary><c>min(cap, base · 2^(n-1))</c> without overflowing for large n.</summary>
    public static TimeSpan ExponentialCeiling(int retryNumber, TimeSpan baseDelay, TimeSpan cap)
    {
        var exponent = Math.Min(retryNumber - 1, 62);
        var ticks = baseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= cap.Ticks ? cap : TimeSpan.FromTicks((long)ticks);
    }
}
