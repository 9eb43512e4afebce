namespace ActorThrottle.Backend;

/// <summary>DESIGN.md's "what is retried" table as a pure function.</summary>
internal static class OutcomeClassifier
{
    /// <summary>The provider code that marks a 429 as billing rather than rate.</summary>
    public const string InsufficientQuota = "insufficient_quota";

    /// <summary>Classifies an HTTP answer by status and the error body's <c>code</c>.</summary>
    public static OutcomeKind Classify(int status, string? errorCode) => status switch
    {
        >= 200 and < 300 => OutcomeKind.Success,
        429 when string.Equals(errorCode, InsufficientQuota, StringComparison.OrdinalIgnoreCase) => OutcomeKind.QuotaExceeded,
        429 => OutcomeKind.RateLimited,
        // 408: the server timed the request out; 529: "overloaded" (Anthropic and some gateways).
        408 or 500 or 502 or 503 or 504 or 529 => OutcomeKind.Transient,
        _ => OutcomeKind.Permanent,
    };

    /// <summary>A call that never got an HTTP answer (timeout, connection reset or refused) is transient.</summary>
    public static OutcomeKind ClassifyTransportFailure() => OutcomeKind.Transient;
}
