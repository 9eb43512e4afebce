namespace ActorThrottle.Simulator;

/// <summary>How a simulated limit decides (the shapes real providers and the gateways in front of them use).</summary>
public enum LimitAlgorithm
{
    /// <summary>Refills continuously at quota ÷ window up to <see cref="LimitSpec.Burst"/> (OpenAI, Anthropic, nginx <c>limit_req</c> with <c>nodelay</c>).</summary>
    TokenBucket,

    /// <summary>
    /// Generic cell rate algorithm (redis-cell, throttled): one emission every window ÷ quota with a tolerance of
    /// <see cref="LimitSpec.Burst"/> cells; with <see cref="LimitSpec.MaxDelay"/> &gt; 0 a request over the limit is
    /// delayed (a leaky bucket with a queue, nginx without <c>nodelay</c>) instead of rejected while its delay fits.
    /// </summary>
    Gcra,

    /// <summary>A counter per window of fixed length; when the window starts is <see cref="LimitSpec.WindowStart"/>.</summary>
    FixedWindow,

    /// <summary>Every admitted hit's instant is kept; a hit is admitted while fewer than quota lie in the last window.</summary>
    SlidingLog,

    /// <summary>
    /// The weighted two-window estimate of many API gateways: count(previous window) × the part of it still inside the
    /// sliding window + count(current window).
    /// </summary>
    SlidingWindowCounter,

    /// <summary>At most quota requests in flight at once; time plays no part.</summary>
    Concurrency,
}
