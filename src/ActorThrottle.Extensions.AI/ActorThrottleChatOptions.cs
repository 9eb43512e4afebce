using ActorThrottle.Messages;
using Microsoft.Extensions.AI;

namespace ActorThrottle.Extensions.AI;

/// <summary>
/// Keys of <see cref="ChatOptions.AdditionalProperties"/> that <see cref="ActorThrottleChatClient"/> reads itself
/// instead of passing them to the provider, and helpers to set them.
/// </summary>
public static class ActorThrottleChatOptions
{
    /// <summary>The lane: <c>"interactive"</c> (default) or <c>"batch"</c> (a <see cref="Priority"/> value also works).</summary>
    public const string PriorityKey = "actor_throttle.priority";

    /// <summary>The request id to use (echoed in logs, metrics and <see cref="ChatResponse.AdditionalProperties"/>); generated when absent.</summary>
    public const string RequestIdKey = "actor_throttle.request_id";

    /// <summary>An absolute deadline (<see cref="DateTimeOffset"/>) or a time budget from now (<see cref="TimeSpan"/>).</summary>
    public const string DeadlineKey = "actor_throttle.deadline";

    /// <summary>In a response's <see cref="ChatResponse.AdditionalProperties"/>: how many calls reached the provider.</summary>
    public const string AttemptsKey = "actor_throttle.attempts";

    /// <summary>In a response's <see cref="ChatResponse.AdditionalProperties"/>: time from the first attempt to the answer.</summary>
    public const string LatencyKey = "actor_throttle.latency";

    /// <summary>Keys starting with this prefix are never sent to the provider.</summary>
    public const string Prefix = "actor_throttle.";

    /// <summary>Puts the request in <paramref name="priority"/>'s lane. Returns <paramref name="options"/>.</summary>
    public static ChatOptions WithPriority(this ChatOptions options, Priority priority)
    {
        ArgumentNullException.ThrowIfNull(options);
        (options.AdditionalProperties ??= new AdditionalPropertiesDictionary())[PriorityKey] = priority == Priority.Batch ? "batch" : "interactive";
        return options;
    }

    /// <summary>Sends the request in the batch lane: it waits while interactive requests of the same model are queued.</summary>
    public static ChatOptions AsBatch(this ChatOptions options) => options.WithPriority(Priority.Batch);

    /// <summary>Gives up (<see cref="FailureReason.DeadlineExceeded"/>) when no answer came by <paramref name="deadline"/>.</summary>
    public static ChatOptions WithDeadline(this ChatOptions options, DateTimeOffset deadline)
    {
        ArgumentNullException.ThrowIfNull(options);
        (options.AdditionalProperties ??= new AdditionalPropertiesDictionary())[DeadlineKey] = deadline;
        return options;
    }
}
