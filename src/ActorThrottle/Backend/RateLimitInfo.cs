namespace ActorThrottle.Backend;

/// <summary>
/// What a response says about the provider's limits: how long to wait before retrying, and how many
/// requests/tokens remain until when. Nulls mean "not reported".
/// </summary>
/// <remarks>
/// Delta-seconds and instants without sub-second digits are upper bounds, not waits: the true value lies in
/// (value − granularity, value] (a <c>reset=1</c> means "within a second"). A granularity of zero marks an exact value
/// (Go durations, <c>retry-after-ms</c>, instants with sub-second digits, fractional seconds).
/// </remarks>
public sealed record RateLimitInfo
{
    public static readonly RateLimitInfo None = new();

    /// <summary>The header family the facts came from.</summary>
    public RateLimitDialect Dialect { get; init; }
    /// <summary>From <c>retry-after-ms</c> (preferred) or <c>retry-after</c>.</summary>
    public TimeSpan? RetryAfter { get; init; }
    /// <summary>How coarse <see cref="RetryAfter"/> is: 1 s for whole delta-seconds and HTTP dates, zero when exact.</summary>
    public TimeSpan RetryAfterGranularity { get; init; }
    /// <summary>
    /// The request quota <see cref="RemainingRequests"/> counts down from: the capacity of a gradually refilling bucket
    /// (OpenAI <c>x-ratelimit-limit-requests</c>, Anthropic <c>…-requests-limit</c>; per minute on the real providers),
    /// or the IETF <c>limit</c>/<c>RateLimit-Limit</c>/policy quota of a window. A reset is then the time until it is
    /// whole again (bucket full, or window over), not until the next request.
    /// </summary>
    public long? LimitRequests { get; init; }
    /// <summary>
    /// The window <see cref="LimitRequests"/> is counted over, when the headers say (the IETF policy that
    /// <see cref="RemainingRequests"/> reports on).
    /// </summary>
    public TimeSpan? WindowRequests { get; init; }
    /// <summary>The token limit of a gradually refilling bucket, as <see cref="LimitRequests"/> (per minute on the real providers).</summary>
    public long? LimitTokens { get; init; }
    public long? RemainingRequests { get; init; }
    public TimeSpan? ResetRequests { get; init; }
    /// <summary>How coarse <see cref="ResetRequests"/> is (see the remarks).</summary>
    public TimeSpan ResetRequestsGranularity { get; init; }
    public long? RemainingTokens { get; init; }
    public TimeSpan? ResetTokens { get; init; }
    /// <summary>How coarse <see cref="ResetTokens"/> is (see the remarks).</summary>
    public TimeSpan ResetTokensGranularity { get; init; }
    /// <summary>Every quota policy stated (IETF <c>RateLimit-Policy</c>, or <c>RateLimit-Limit</c>'s <c>;w=</c> items); empty when none.</summary>
    public IReadOnlyList<RateLimitPolicy> Policies { get; init; } = Array.Empty<RateLimitPolicy>();

    /// <summary>Whether any rate header (limit, remaining, reset or policy) was present; <c>retry-after</c> alone is not one.</summary>
    public bool HasRateHeaders => Dialect != RateLimitDialect.None;
}
