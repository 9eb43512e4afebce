namespace ActorThrottle.Messages;

/// <summary>Why a request was not answered with a completion.</summary>
public enum FailureReason
{
    /// <summary>Every attempt (or the retry budget) was used up on 429 rate-limit answers.</summary>
    RateLimitedExhausted,
    /// <summary>The last attempt failed with a 5xx, a timeout or a connection error and no retry was left.</summary>
    Transient,
    /// <summary>The provider refused the request for good (4xx other than rate limits, <c>insufficient_quota</c>, an unreadable answer).</summary>
    Permanent,
    /// <summary>The model already holds <c>queue-size</c> requests.</summary>
    QueueFull,
    /// <summary>The request costs more tokens than the model can ever admit.</summary>
    TooLarge,
    /// <summary>The caller's deadline passed first.</summary>
    DeadlineExceeded,
    /// <summary>The caller withdrew the request.</summary>
    Cancelled,
    /// <summary>The model is not configured and <c>unknown-models = reject</c>.</summary>
    UnknownModel,
    /// <summary>The request is malformed; the message names the field.</summary>
    InvalidRequest,
    /// <summary>The actor system is shutting down.</summary>
    ShuttingDown,
    /// <summary>A streamed completion failed after some of its text was delivered; it is not retried (the text would repeat).</summary>
    StreamInterrupted,
}
