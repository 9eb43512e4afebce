using ActorThrottle.Backend;
using ActorThrottle.Throttling;

namespace ActorThrottle.Models;

/// <summary>Supervisor → ModelActor: put an attempt into the queue.</summary>
internal sealed record SubmitAttempt(WorkItem Item);

/// <summary>Supervisor → ModelActor: withdraw an attempt if it has not left the queue.</summary>
internal sealed record WithdrawAttempt(WorkItem Item);

/// <summary>Supervisor → ModelActor: empty the queue (shutdown); answered with <see cref="QueueDrained"/>.</summary>
internal sealed record DrainQueue
{
    public static readonly DrainQueue Instance = new();
}

internal sealed record QueueDrained(IReadOnlyList<WorkItem> Items);

/// <summary>ModelActor → supervisor, from PreStart: the stream runs; here is its throttle (and its in-flight gate).</summary>
internal sealed record ModelActorStarted(IThrottleControl Throttle, IWorkQueue<WorkItem> Queue)
{
    public InFlightGate? Gate { get; init; }
}

/// <summary>Stream → supervisor: one call finished (or was skipped because the item was abandoned).</summary>
internal sealed record AttemptCompleted(WorkItem Item, BackendResponse? Response, DateTimeOffset StartedAt, TimeSpan Elapsed)
{
    /// <summary>Calls in flight when this one was sent, itself included (0: not known).</summary>
    public int InFlightAtSend { get; init; }
}

/// <summary>ModelActor → itself: the stream died; throwing hands the failure to the supervisor.</summary>
internal sealed record StreamFailed(Exception Cause);

internal sealed class ModelStreamFailedException(string model, Exception cause)
    : Exception($"The stream of model '{model}' failed.", cause);

/// <summary>Supervisor's timers.</summary>
internal sealed record RetryDue(string RequestId);

internal sealed record DeadlineDue
{
    public static readonly DeadlineDue Instance = new();
}

internal sealed record ShutdownGraceOver
{
    public static readonly ShutdownGraceOver Instance = new();
}
