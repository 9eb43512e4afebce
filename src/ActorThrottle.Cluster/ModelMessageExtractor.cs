using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Routing;
using Akka.Cluster.Sharding;

namespace ActorThrottle.Cluster;

/// <summary>
/// Reads the entity id (the model id) from the messages callers send, so their <c>Ask</c> is unchanged: the message
/// itself is delivered to the model's supervisor, whose replies go to the original (possibly remote) sender.
/// Shard ids are a stable hash of the model id (the same on every node).
/// </summary>
internal sealed class ModelMessageExtractor(int numberOfShards) : HashCodeMessageExtractor(numberOfShards)
{
    public override string? EntityId(object message) => message switch
    {
        ChatRequest r => r.Model,
        ChatStreamRequest s => s.Request?.Model,
        ClusterRequest c => c.Request?.Model,
        FallbackRequest f => f.Request?.Model,
        CancelRequest c => c.Model,
        GetModelStatus g => g.Model,
        Limits.SetModelLimits l => l.Model,
        _ => null,
    };
}
