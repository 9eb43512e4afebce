namespace ActorThrottle.Backend;

/// <summary>Which family of rate-limit headers a response carried; it decides what a <c>limit</c> and a <c>reset</c> mean.</summary>
public enum RateLimitDialect
{
    /// <summary>No rate header (at most a <c>retry-after</c>).</summary>
    None,
    /// <summary>OpenAI's (and Azure OpenAI's) <c>x-ratelimit-*</c>: a continuously refilled bucket, reset = until full.</summary>
    OpenAI,
    /// <summary>Anthropic's <c>anthropic-ratelimit-*</c>: as OpenAI's, resets as RFC 3339 instants.</summary>
    Anthropic,
    /// <summary>IETF drafts up to 06: <c>RateLimit-Limit</c>, <c>RateLimit-Remaining</c>, <c>RateLimit-Reset</c>.</summary>
    IetfSeparate,
    /// <summary>IETF draft-07: <c>RateLimit: limit=, remaining=, reset=</c> with <c>RateLimit-Policy: q;w=</c>.</summary>
    IetfDraft7,
    /// <summary>IETF drafts 08+: structured <c>RateLimit: "p";r=;t=</c> with <c>RateLimit-Policy: "p";q=;w=</c>.</summary>
    IetfStructured,
}
