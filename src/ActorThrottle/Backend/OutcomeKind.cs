namespace ActorThrottle.Backend;

/// <summary>What one call to the provider amounted to, and so what the engine does next.</summary>
public enum OutcomeKind
{
    /// <summary>A completion: answer the caller.</summary>
    Success,
    /// <summary>429 <c>rate_limit_exceeded</c> (or a 429 without a code): retry later and shrink the burst window.</summary>
    RateLimited,
    /// <summary>429 <c>insufficient_quota</c>: billing, not rate; answer the failure at once.</summary>
    QuotaExceeded,
    /// <summary>5xx, timeout, connection reset or refused: retry with backoff; not a rate signal.</summary>
    Transient,
    /// <summary>Any other 4xx, or an answer that is not a chat completion: answer the failure at once.</summary>
    Permanent,
}
