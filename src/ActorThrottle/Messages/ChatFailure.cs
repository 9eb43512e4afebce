namespace ActorThrottle.Messages;

/// <summary>A request that ended without a completion.</summary>
/// <param name="Reason">The typed reason.</param>
/// <param name="Message">A human-readable explanation; for invalid input it names the field.</param>
/// <param name="StatusCode">The provider's HTTP status of the last attempt, when there was one.</param>
/// <param name="ProviderCode">The provider's error <c>code</c> (e.g. <c>insufficient_quota</c>), when there was one.</param>
public sealed record ChatFailure(
    string RequestId,
    FailureReason Reason,
    string Message,
    int Attempts,
    int? StatusCode = null,
    string? ProviderCode = null) : ChatReply(RequestId, Attempts);
