using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Routing;
using Akka.Actor;

namespace ActorThrottle.Cluster;

/// <summary>The entity of a model that cannot run on this node (not configured, or its backend cannot be built): answers every request with the reason.</summary>
internal sealed class UnavailableModel : ReceiveActor
{
    public UnavailableModel(string model, FailureReason reason, string message)
    {
        Receive<ChatRequest>(r => Sender.Tell(new ChatFailure(r.RequestId, reason, message, 0)));
        Receive<ChatStreamRequest>(r => Sender.Tell(new ChatFailure(r.Request.RequestId, reason, message, 0)));
        Receive<ClusterRequest>(r => Sender.Tell(new ChatFailure(r.Request.RequestId, reason, message, 0)));
        Receive<FallbackRequest>(f => f.ReplyTo.Tell(new ChatFailure(f.Request.RequestId, reason, message, f.PriorAttempts)));
        Receive<GetModelStatus>(_ => Sender.Tell(new ModelStatus(model, 0, 0, 0, null, 0)));
        Receive<Limits.SetModelLimits>(l => Sender.Tell(new Limits.ModelLimitsRejected(model, "model", message)));
        Receive<HandOffModel>(_ => Context.Stop(Self));
        ReceiveAny(_ => { });
    }

    public static Props Props(string model, FailureReason reason, string message) =>
        Akka.Actor.Props.Create(() => new UnavailableModel(model, reason, message));
}
