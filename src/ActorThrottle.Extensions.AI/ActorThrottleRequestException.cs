using ActorThrottle.Messages;

namespace ActorThrottle.Extensions.AI;

/// <summary>
/// Thrown by <see cref="ActorThrottleChatClient"/> when the engine answers a request with a <see cref="ChatFailure"/>
/// (other than <see cref="FailureReason.Cancelled"/>, which becomes an <see cref="OperationCanceledException"/>).
/// Carries the typed reason, the provider's status and error code; never the API key.
/// </summary>
public sealed class ActorThrottleRequestException : Exception
{
    public ActorThrottleRequestException(ChatFailure failure, string model)
        : base(Describe(failure ?? throw new ArgumentNullException(nameof(failure)), model))
    {
        Failure = failure;
        Model = model;
    }

    /// <summary>The engine's reply, as received.</summary>
    public ChatFailure Failure { get; }

    /// <summary>The model the request was sent to.</summary>
    public string Model { get; }

    /// <summary>Why the request ended without a completion.</summary>
    public FailureReason Reason => Failure.Reason;

    /// <summary>The request's id (the engine's, echoed in logs and metrics).</summary>
    public string RequestId => Failure.RequestId;

    /// <summary>The provider's HTTP status of the last attempt, when there was one.</summary>
    public int? StatusCode => Failure.StatusCode;

    /// <summary>The provider's error <c>code</c> (e.g. <c>insufficient_quota</c>), when there was one.</summary>
    public string? ProviderCode => Failure.ProviderCode;

    /// <summary>How many calls reached the provider.</summary>
    public int Attempts => Failure.Attempts;

    /// <summary>
    /// True when trying again later may succeed (<see cref="FailureReason.RateLimitedExhausted"/>,
    /// <see cref="FailureReason.Transient"/>, <see cref="FailureReason.QueueFull"/>, <see cref="FailureReason.ShuttingDown"/>,
    /// <see cref="FailureReason.StreamInterrupted"/> — asking again starts a new answer; the text already shown is not resumed).
    /// The engine has already retried what was worth retrying; this is a hint for the caller's own policy.
    /// </summary>
    public bool IsTransient => Reason is FailureReason.RateLimitedExhausted or FailureReason.Transient
        or FailureReason.QueueFull or FailureReason.ShuttingDown or FailureReason.StreamInterrupted;

    private static string Describe(ChatFailure failure, string model)
    {
        var status = failure.StatusCode is { } s ? $", status {s}" : "";
        var code = failure.ProviderCode is { } c ? $", code {c}" : "";
        return $"ActorThrottle request {failure.RequestId} to model '{model}' failed: {failure.Reason}{status}{code} after {failure.Attempts} attempt(s). {failure.Message}";
    }
}
