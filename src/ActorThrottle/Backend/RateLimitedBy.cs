namespace ActorThrottle.Backend;

/// <summary>Which of the provider's limits a 429 says was hit (<see cref="RateLimitCause"/>).</summary>
public enum RateLimitedBy
{
    /// <summary>Nothing tells: treated as the request limit (what a 429 meant before token limits were told apart).</summary>
    Unknown,
    /// <summary>The request limit (requests per second/minute/day).</summary>
    Requests,
    /// <summary>The token limit (tokens per minute/day, input or output tokens).</summary>
    Tokens,
    /// <summary>Both limits are exhausted.</summary>
    Both,
}
