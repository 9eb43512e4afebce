namespace ActorThrottle.Simulator;

/// <summary>Which rate-limit headers a model's responses carry.</summary>
public enum RateLimitHeaderMode
{
    /// <summary>
    /// <c>x-ratelimit-*</c> on every response, and <c>retry-after</c> / <c>retry-after-ms</c> computed from the buckets on a 429.
    /// </summary>
    Full,

    /// <summary>No rate-limit headers at all, not even on a 429.</summary>
    None,

    /// <summary>Only a fixed <c>retry-after: 1</c> on a 429, nothing else.</summary>
    RetryAfterOnly,
}
