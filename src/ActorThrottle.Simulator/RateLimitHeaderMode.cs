namespace ActorThrottle.Simulator;

/// <summary>Which rate-limit headers (dialect) a model's responses carry.</summary>
public enum RateLimitHeaderMode
{
    /// <summary>
    /// OpenAI: <c>x-ratelimit-limit|remaining|reset-requests|tokens</c> on every response (resets as Go durations), and
    /// <c>retry-after</c> (seconds, rounded up) with <c>retry-after-ms</c> on a 429.
    /// </summary>
    Full,

    /// <summary>No rate-limit headers at all, not even on a 429.</summary>
    None,

    /// <summary>Only <c>retry-after</c> on a 429, in whole seconds rounded up (at least 1).</summary>
    RetryAfterOnly,

    /// <summary>Only <c>retry-after</c> on a 429, as an HTTP date (IMF-fixdate) of now plus the wait, rounded up to the second.</summary>
    RetryAfterDate,

    /// <summary>Azure OpenAI: <c>x-ratelimit-remaining-requests|tokens</c> (no limit, no reset); <c>retry-after-ms</c> and <c>retry-after</c> on a 429.</summary>
    Azure,

    /// <summary>
    /// Anthropic: <c>anthropic-ratelimit-requests|tokens-limit|remaining|reset</c> (resets as RFC 3339 instants of full
    /// replenishment) on every response, <c>retry-after</c> (seconds, rounded up) on a 429.
    /// </summary>
    Anthropic,

    /// <summary>
    /// IETF draft-ietf-httpapi-ratelimit-headers-07: <c>RateLimit: limit=L, remaining=R, reset=S</c> for the limit
    /// closest to rejecting and <c>RateLimit-Policy: q;w=W, …</c> for every limit (delta-seconds rounded up);
    /// <c>retry-after</c> on a 429.
    /// </summary>
    IetfDraft7,

    /// <summary>
    /// IETF structured fields (draft-08 and later): <c>RateLimit-Policy: "name";q=Q;w=W, …</c> and
    /// <c>RateLimit: "name";r=R;t=T</c> for the limit closest to rejecting; <c>retry-after</c> on a 429.
    /// </summary>
    IetfStructured,

    /// <summary>
    /// Separate fields of the earlier drafts (and many gateways): <c>RateLimit-Limit</c>, <c>RateLimit-Remaining</c>,
    /// <c>RateLimit-Reset</c> (delta-seconds rounded up) for the limit closest to rejecting; <c>retry-after</c> on a 429.
    /// </summary>
    IetfSeparate,
}
