namespace ActorThrottle.Messages;

/// <summary>Withdraws a request that has not been answered yet; it is answered <see cref="FailureReason.Cancelled"/>. Unknown ids are ignored.</summary>
public sealed record CancelRequest(string Model, string RequestId);
