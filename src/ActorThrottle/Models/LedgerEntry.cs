using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Routing;
using ActorThrottle.Tokens;
using Akka.Actor;

namespace ActorThrottle.Models;

/// <summary>One accepted request in a model's <see cref="RequestLedger"/>, from admission to its one answer.</summary>
internal sealed class LedgerEntry(ChatRequest request, IActorRef replyTo, RequestCost cost)
{
    public ChatRequest Request { get; } = request;
    public IActorRef ReplyTo { get; } = replyTo;
    public RequestCost Cost { get; } = cost;
    public int Attempts { get; set; }
    /// <summary>Models this request already failed on, in order (fallbacks).</summary>
    public IReadOnlyList<string> Tried { get; init; } = [];
    /// <summary>The fallbacks still to try: the original model's list, minus those already used.</summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];
    /// <summary>Calls made for it on those models.</summary>
    public int PriorAttempts { get; init; }
    public DateTimeOffset? FirstAttemptAt { get; set; }
    public WorkItem? Current { get; set; }
    public bool WaitingForRetry { get; set; }
    public BackendResponse? LastResponse { get; set; }
    /// <summary>Came through a cluster relay (<see cref="ClusterRequest"/>): re-delivered the same way.</summary>
    public bool Tracked { get; init; }
    /// <summary>When it was admitted here (the request span's queue wait runs from here to the first send).</summary>
    public DateTimeOffset AdmittedAt { get; init; }
    /// <summary>The request span (null when nobody listens); ended with the one answer.</summary>
    public System.Diagnostics.Activity? Span { get; init; }
    /// <summary>A <see cref="ChatStreamRequest"/>: each attempt streams its text to <see cref="ReplyTo"/>.</summary>
    public bool Stream { get; init; }
}
