using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Routing;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using AkkaCluster = Akka.Cluster.Cluster;

namespace ActorThrottle.Cluster;

/// <summary>
/// One per node in cluster mode, between the router and the shard region: it keeps every request it sent until the
/// reply comes back through it, learns from the supervisor's <see cref="RequestAccepted"/> which node holds each one,
/// and when that node is removed from the cluster (a crash downed by the split-brain resolver, or any removal) it
/// re-sends what that node held to the model's next incarnation. The supervisor admits a re-send only once, and the
/// relay passes on only the first reply per request, so callers still get exactly one answer.
/// On shutdown it waits up to <c>shutdown-grace</c> for the replies of its callers, then answers the rest ShuttingDown.
/// </summary>
internal sealed class ClusterRelay : ReceiveActor, IWithTimers
{
    private const string GraceTimer = "grace";
    private const string ResendTimer = "resend";
    // Until the shard regions have noticed the removed node, a re-send may still be routed to it: repeat until acknowledged.
    private static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(1);
    private readonly IActorRef _region;
    private readonly TimeSpan _shutdownGrace;
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _drainRequesters = [];
    private bool _draining;

    public ClusterRelay(IActorRef region, TimeSpan shutdownGrace)
    {
        _region = region;
        _shutdownGrace = shutdownGrace;

        Receive<ChatRequest>(r => Send(r, stream: false));
        Receive<ChatStreamRequest>(s => Send(s.Request, stream: true));
        Receive<ChatChunk>(PassChunk);
        Receive<CancelRequest>(c => _region.Tell(c, Self));
        Receive<GetModelStatus>(g => _region.Forward(g));
        Receive<Limits.SetModelLimits>(l => _region.Forward(l));
        Receive<RequestAccepted>(a =>
        {
            if (_pending.TryGetValue(a.RequestId, out var p))
            {
                p.Host = Sender.Path.Address;
                p.Orphaned = false;
            }
        });
        Receive<ChatReply>(Relay);
        Receive<ClusterEvent.MemberRemoved>(m => Orphan(m.Member.Address));
        Receive<ResendOrphans>(_ => ResendOrphaned());
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<DrainRelay>(_ => BeginDrain());
        Receive<DrainGraceOver>(_ =>
        {
            foreach (var (id, p) in _pending)
            {
                p.Caller.Tell(new ChatFailure(id, FailureReason.ShuttingDown, "The node is shutting down; the reply did not arrive within shutdown-grace.", 0));
            }
            _pending.Clear();
            CompleteDrainIfDone();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef region, TimeSpan shutdownGrace) => Akka.Actor.Props.Create(() => new ClusterRelay(region, shutdownGrace));

    protected override void PreStart() =>
        AkkaCluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.MemberRemoved));

    protected override void PostStop()
    {
        AkkaCluster.Get(Context.System).Unsubscribe(Self);
        foreach (var (id, p) in _pending)
        {
            p.Caller.Tell(new ChatFailure(id, FailureReason.ShuttingDown, "The node's request relay stopped before the reply arrived.", 0));
        }
    }

    private void Send(ChatRequest request, bool stream)
    {
        if (_draining)
        {
            Sender.Tell(new ChatFailure(request.RequestId, FailureReason.ShuttingDown, "The actor system is shutting down.", 0));
            return;
        }
        if (_pending.ContainsKey(request.RequestId))
        {
            Sender.Tell(new ChatFailure(request.RequestId, FailureReason.InvalidRequest,
                $"RequestId '{request.RequestId}' is already pending on this node; request ids must be unique.", 0));
            return;
        }
        _pending.Add(request.RequestId, new Pending(request, Sender, stream));
        _region.Tell(new ClusterRequest(request, Resent: false, stream), Self);
    }

    private void PassChunk(ChatChunk chunk)
    {
        if (_pending.TryGetValue(chunk.RequestId, out var p) && p.Stream)
        {
            p.ChunksRelayed++;
            p.Caller.Tell(chunk);
        }
    }

    private void Relay(ChatReply reply)
    {
        // Only the first reply per request goes on; a late one from an incarnation that was replaced is dropped.
        if (_pending.Remove(reply.RequestId, out var p))
        {
            p.Caller.Tell(reply);
            if (_draining)
            {
                CompleteDrainIfDone();
            }
        }
    }

    private void Orphan(Address removed)
    {
        if (removed.Equals(AkkaCluster.Get(Context.System).SelfAddress))
        {
            return;
        }
        var count = 0;
        foreach (var (id, p) in _pending.ToList())
        {
            // Unacknowledged requests may have gone to the removed node too; a re-send of one that is held elsewhere is ignored there.
            if (p.Host is null || p.Host.Equals(removed))
            {
                if (p.ChunksRelayed > 0)
                {
                    // Part of the text reached the caller: a re-send would repeat it.
                    _pending.Remove(id);
                    p.Caller.Tell(new ChatFailure(id, FailureReason.StreamInterrupted,
                        $"The node streaming the answer left the cluster after {p.ChunksRelayed} chunks were delivered.", 0));
                    continue;
                }
                p.Host = null;
                p.Orphaned = true;
                count++;
            }
        }
        if (count > 0)
        {
            _log.Warning("Node {0} was removed from the cluster; re-sending the {1} requests it may have held until a node acknowledges them", removed, count);
            ResendOrphaned();
        }
    }

    private void ResendOrphaned()
    {
        var any = false;
        foreach (var p in _pending.Values.Where(p => p.Orphaned))
        {
            _region.Tell(new ClusterRequest(p.Request, Resent: true, p.Stream), Self);
            any = true;
        }
        if (any)
        {
            Timers.StartSingleTimer(ResendTimer, ResendOrphans.Instance, ResendInterval);
        }
    }

    private void BeginDrain()
    {
        _drainRequesters.Add(Sender);
        if (!_draining)
        {
            _draining = true;
            Timers.StartSingleTimer(GraceTimer, DrainGraceOver.Instance, _shutdownGrace);
        }
        CompleteDrainIfDone();
    }

    private void CompleteDrainIfDone()
    {
        if (_pending.Count > 0)
        {
            return;
        }
        Timers.Cancel(GraceTimer);
        foreach (var requester in _drainRequesters)
        {
            requester.Tell(Akka.Done.Instance);
        }
        _drainRequesters.Clear();
    }

    private sealed class Pending(ChatRequest request, IActorRef caller, bool stream)
    {
        public ChatRequest Request { get; } = request;
        public IActorRef Caller { get; } = caller;
        public bool Stream { get; } = stream;
        public int ChunksRelayed { get; set; }
        public Address? Host { get; set; }
        public bool Orphaned { get; set; }
    }

    private sealed record ResendOrphans
    {
        public static readonly ResendOrphans Instance = new();
    }

    internal sealed record DrainRelay
    {
        public static readonly DrainRelay Instance = new();
    }

    private sealed record DrainGraceOver
    {
        public static readonly DrainGraceOver Instance = new();
    }
}
