namespace ActorThrottle.Backend;

/// <summary>
/// What a response says about the provider's limits: how long to wait before retrying, and how many
/// requests/tokens remain until when. Nulls mean "not reported".
/// </summary>
public sealed record RateLimitInfo
{
    public static readonly RateLimitInfo None = new();

    /// <summary>From <c>retry-after-ms</c> (preferred) or <c>retry-after</c>.</summary>
    public TimeSpan? RetryAfter { get; init; }
    /// <summary>
    /// The request limit of a gradually refilling bucket (OpenAI <c>x-ratelimit-limit-requests</c>, Anthropic
    /// <c>…-requests-limit</c>). When known, a reset is the time until the bucket is full again, not until the next request.
    /// </summary>
    public long? LimitRequests { get; init; }
    /// <summary>The token limit of a gradually refilling bucket, as <see cref="LimitRequests"/>.</summary>
    public long? LimitTokens { get; init; }
    public long? RemainingRequests { get; init; }
    public TimeSpan? ResetRequests { get; init; }
    public long? RemainingTokens { get; init; }
    public TimeSpan? ResetTokens { get; init; }
}
