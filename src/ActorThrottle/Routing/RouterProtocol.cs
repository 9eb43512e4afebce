using ActorThrottle.Messages;

namespace ActorThrottle.Routing;

/// <summary>Ask the router to stop taking work and answer everything it holds; answered with <see cref="ThrottleShutdownComplete"/>.</summary>
internal sealed record ShutdownThrottle
{
    public static readonly ShutdownThrottle Instance = new();
}

/// <summary>Every model has answered every request it held.</summary>
internal sealed record ThrottleShutdownComplete(int Models);

/// <summary>Router → supervisor: begin shutdown.</summary>
internal sealed record ShutdownModel
{
    public static readonly ShutdownModel Instance = new();
}

/// <summary>Supervisor → router: this model holds nothing more.</summary>
internal sealed record ModelShutdownComplete(string Model);

/// <summary>
/// Supervisor → router (cluster mode: → shard region): a request that failed on its model, to be tried on
/// <c>Request.Model</c> (a fallback). The fallback's supervisor answers <paramref name="ReplyTo"/>; <paramref name="Tried"/>
/// are the models already tried and <paramref name="Remaining"/> the rest of the original model's fallback list, tried next
/// if this one fails too.
/// </summary>
internal sealed record FallbackRequest(Messages.ChatRequest Request, Akka.Actor.IActorRef ReplyTo, IReadOnlyList<string> Tried, IReadOnlyList<string> Remaining, int PriorAttempts,
    bool Stream = false)
{
    // Arrays: the lists may cross nodes, and a collection expression's own type is one Akka's JSON serializer cannot rebuild.
    public IReadOnlyList<string> Tried { get; init; } = Tried.ToArray();

    public IReadOnlyList<string> Remaining { get; init; } = Remaining.ToArray();
}

/// <summary>
/// Cluster sharding → supervisor (the hand-off stop message): the model moves to another node. Requests not yet
/// sent are re-delivered to the next incarnation, calls in flight finish within shutdown-grace, then it stops.
/// </summary>
internal sealed record HandOffModel
{
    public static readonly HandOffModel Instance = new();

    /// <summary>
    /// The message that re-delivers an unanswered request to the model's next incarnation: a fallback keeps its chain (the
    /// models tried, those left) and its attempts so far; a request from a relay goes back marked re-sent; else as it came.
    /// </summary>
    public static object Redelivery(ChatRequest request, Akka.Actor.IActorRef replyTo, bool stream, bool tracked,
        IReadOnlyList<string> tried, IReadOnlyList<string> remaining, int attempts) =>
        tried.Count > 0 ? new FallbackRequest(request, replyTo, tried, remaining, attempts, stream)
        : tracked ? new ClusterRequest(request, Resent: true, stream)
        : stream ? new ChatStreamRequest(request) : request;
}

/// <summary>
/// Cluster mode, a node's request relay → a model's supervisor: a request whose reply goes back through the relay.
/// The supervisor acknowledges admission with <see cref="RequestAccepted"/> (so the relay knows which node holds it)
/// and ignores a re-send of a request it already holds (<paramref name="Resent"/>: after a node holding it was
/// removed, or a hand-off), so re-sending is safe. <paramref name="Stream"/>: a streamed request (its chunks go back
/// through the relay too).
/// </summary>
internal sealed record ClusterRequest(ChatRequest Request, bool Resent, bool Stream = false);

/// <summary>Supervisor → relay: the request is in this supervisor's ledger (its sender tells the node).</summary>
internal sealed record RequestAccepted(string RequestId);

/// <summary>
/// Supervisor → relay, on a hand-off: the request left this supervisor's ledger and was re-delivered to the model's next
/// incarnation; until that one acknowledges it, the relay counts it as unacknowledged (and re-sends it if it is lost).
/// </summary>
internal sealed record RequestReleased(string RequestId);
