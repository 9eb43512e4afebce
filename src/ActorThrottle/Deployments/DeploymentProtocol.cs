using ActorThrottle.Backend;

namespace ActorThrottle.Deployments;

/// <summary>A deployment's supervisor → its balancer: one attempt was answered (what the cool-down rule and the capacity read).</summary>
internal sealed record DeploymentAttemptObserved(OutcomeKind Kind, int? StatusCode, DateTimeOffset At, TimeSpan Elapsed);

/// <summary>
/// Balancer → a deployment's supervisor: give back every request whose call has not started (queued, in the stream's
/// buffers, waiting to retry), without answering them; answered with <see cref="QueuedReclaimed"/>.
/// </summary>
internal sealed record ReclaimQueued
{
    public static readonly ReclaimQueued Instance = new();
}

/// <summary>What a deployment gave back: each request leaves its ledger before this is sent, so it answers none of them.</summary>
internal sealed record QueuedReclaimed(IReadOnlyList<ReclaimedRequest> Requests);

/// <param name="Attempts">Calls made for it so far, on every deployment and model it went through.</param>
internal sealed record ReclaimedRequest(string RequestId, int Attempts);

/// <summary>The balancer's timer: read the deployments' state, expire deadlines, take work back from a cooled-down one.</summary>
internal sealed record BalancerTick
{
    public static readonly BalancerTick Instance = new();
}
