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
/// re-sends what that node held to the model's next incarnation. A request no supervisor has acknowledged within
/// <c>shutdown-grace</c> + 2 s is re-sent too, and so is one a supervisor handed back (<see cref="RequestReleased"/>):
/// a shard region drops the messages it buffered for a shard whose hand-off begins, so a request sent while its model
/// moves can be lost on the way. The supervisor admits a re-send only once, and the relay passes on only the first
/// reply per request, so callers still get exactly one answer. (A re-send that arrives after the first copy was
/// answered is called again; the relay drops its reply: rare, and a second call to the provider, not a second answer.)
/// On shutdown it waits up to <c>shutdown-grace</c> for the replies of its callers, then answers the rest ShuttingDown.
/// </summary>
internal sealed class ClusterRelay : ReceiveActor, IWithTimers
{
    private const string GraceTimer = "grace";
    private const string AckTimer = "ack";
    // How often unacknowledged requests are looked at; an orphan (its node was removed) is re-sent at each look: until the
    // shard regions have noticed the removal, a re-send may still be routed to that node.
    private static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(1);
    private readonly IActorRef _region;
    private readonly TimeSpan _shutdownGrace;
    // How long a request may go unacknowledged before it counts as lost: a region holds messages for a moving shard
    // until its hand-off (calls in flight finish within shutdown-grace) is over.
    private readonly TimeSpan _ackTimeout;
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _drainRequesters = [];
    private bool _draining;

    public ClusterRelay(IActorRef region, TimeSpan shutdownGrace)
    {
        _region = region;
        _shutdownGrace = shutdownGrace;
        _ackTimeout = shutdownGrace + TimeSpan.FromSeconds(2);

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
        Receive<RequestReleased>(r =>
        {
            // Handed back on a hand-off and re-delivered by the supervisor: unacknowledged until the next incarnation says so.
            if (_pending.TryGetValue(r.RequestId, out var p) && Equals(p.Host, Sender.Path.Address))
            {
                p.Host = null;
                p.SentAt = Now;
            }
        });
        Receive<ChatReply>(Relay);
        Receive<ClusterEvent.MemberRemoved>(m => Orphan(m.Member.Address));
        Receive<CheckAcknowledged>(_ => ResendUnacknowledged());
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

    protected override void PreStart()
    {
        AkkaCluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.MemberRemoved));
        Timers.StartPeriodicTimer(AckTimer, CheckAcknowledged.Instance, ResendInterval);
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;

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
        _pending.Add(request.RequestId, new Pending(request, Sender, stream) { SentAt = Now });
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
            ResendUnacknowledged();
        }
    }

    /// <summary>
    /// Re-sends what no supervisor holds as far as the relay knows: an orphan at once and then at every look, any other
    /// request once it has gone unacknowledged for the ack timeout since it was last sent.
    /// </summary>
    private void ResendUnacknowledged()
    {
        var now = Now;
        var lost = 0;
        foreach (var p in _pending.Values)
        {
            if (p.Host is not null || (!p.Orphaned && now - p.SentAt < _ackTimeout))
            {
                continue;
            }
            lost += p.Orphaned ? 0 : 1;
            p.SentAt = now;
            _region.Tell(new ClusterRequest(p.Request, Resent: true, p.Stream), Self);
        }
        if (lost > 0)
        {
            _log.Warning("{0} requests had no acknowledgement from a model within {1}; re-sending them", lost, _ackTimeout);
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
        /// <summary>The node whose supervisor acknowledged it; null until then.</summary>
        public Address? Host { get; set; }
        public DateTimeOffset SentAt { get; set; }
        public bool Orphaned { get; set; }
    }

    private sealed record CheckAcknowledged
    {
        public static readonly CheckAcknowledged Instance = new();
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
