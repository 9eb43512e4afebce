using ActorThrottle.Cluster;
using ActorThrottle.Messages;
using ActorThrottle.Routing;
using ActorThrottle.Tests.Backend;
using Akka.Actor;
using Akka.TestKit;
using Xunit;

namespace ActorThrottle.Tests.Cluster;

/// <summary>
/// The node's request relay against a probe standing in for the shard region, on virtual time: what it re-sends and
/// when. A region drops the messages it buffered for a shard whose hand-off begins, so the relay, not the region,
/// makes sure a request reaches a supervisor.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class ClusterRelaySpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(2);
    // shutdown-grace + 2 s without an acknowledgement: lost.
    private static readonly TimeSpan AckTimeout = ShutdownGrace + TimeSpan.FromSeconds(2);
    private readonly TestScheduler _scheduler;

    public ClusterRelaySpec()
        : base("""
            akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            akka.loglevel = WARNING
            """)
    {
        _scheduler = (TestScheduler)Sys.Scheduler;
    }

    private static ChatRequest Request(string id) => new("m", [ChatMessage.User("hello " + id)]) { RequestId = id };

    private (IActorRef Relay, TestProbe Region, TestProbe Caller) StartRelay()
    {
        var region = CreateTestProbe();
        var caller = CreateTestProbe();
        var relay = Sys.ActorOf(ClusterRelay.Props(region.Ref, ShutdownGrace));
        return (relay, region, caller);
    }

    // Ticks the relay's one-second check up to `span` later, one second at a time (each tick is a message it must handle).
    private void Advance(TimeSpan span)
    {
        for (var t = TimeSpan.Zero; t < span; t += TimeSpan.FromSeconds(1))
        {
            _scheduler.Advance(TimeSpan.FromSeconds(1));
        }
    }

    // A relay holding one request, sent and acknowledged by the supervisor returned.
    private (IActorRef Relay, TestProbe Region, TestProbe Supervisor) StartWithOneAcknowledged(string id)
    {
        var (relay, region, caller) = StartRelay();
        var supervisor = CreateTestProbe();
        relay.Tell(Request(id), caller.Ref);
        region.ExpectMsg<ClusterRequest>();
        relay.Tell(new RequestAccepted(id), supervisor.Ref);
        return (relay, region, supervisor);
    }

    // The relay reads the clock when it handles a message: let it handle what it was told before the clock moves on.
    private static void AwaitHandled(IActorRef relay, TestProbe region)
    {
        relay.Tell(Request("sync"), ActorRefs.NoSender);
        Assert.Equal("sync", region.ExpectMsg<ClusterRequest>().Request.RequestId);
        relay.Tell(new RequestAccepted("sync"), region.Ref);
    }

    [Fact]
    public void A_request_no_supervisor_acknowledged_is_resent_after_the_ack_timeout_and_an_acknowledged_one_is_not()
    {
        var (relay, region, caller) = StartRelay();
        relay.Tell(Request("lost"), caller.Ref);
        relay.Tell(Request("held"), caller.Ref);
        Assert.False(region.ExpectMsg<ClusterRequest>().Resent);
        Assert.False(region.ExpectMsg<ClusterRequest>().Resent);
        relay.Tell(new RequestAccepted("held"), region.Ref);

        // Before the timeout, nothing is re-sent: a region may hold messages for a moving shard that long.
        Advance(AckTimeout - TimeSpan.FromSeconds(1));
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Advance(TimeSpan.FromSeconds(1));
        var resent = region.ExpectMsg<ClusterRequest>();
        Assert.Equal("lost", resent.Request.RequestId);
        Assert.True(resent.Resent);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // Still unacknowledged: once more a timeout later, not every second.
        Advance(AckTimeout - TimeSpan.FromSeconds(1));
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("lost", region.ExpectMsg<ClusterRequest>().Request.RequestId);

        // Acknowledged at last: no more re-sends, and the first reply goes to the caller once.
        relay.Tell(new RequestAccepted("lost"), region.Ref);
        Advance(AckTimeout * 2);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        relay.Tell(new ChatSuccess("lost", "m", "hi", "stop", null, 1, TimeSpan.Zero, null), region.Ref);
        relay.Tell(new ChatSuccess("lost", "m", "again", "stop", null, 1, TimeSpan.Zero, null), region.Ref);
        Assert.Equal("hi", caller.ExpectMsg<ChatSuccess>().Content);
        caller.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_request_its_supervisor_released_on_a_hand_off_is_resent_when_no_next_incarnation_acknowledges_it()
    {
        var (relay, region, supervisor) = StartWithOneAcknowledged("moved");
        Advance(AckTimeout);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // The supervisor hands it back (its re-delivery went into the region, which may drop it); no acknowledgement follows.
        relay.Tell(new RequestReleased("moved"), supervisor.Ref);
        AwaitHandled(relay, region);
        Advance(AckTimeout);
        var resent = region.ExpectMsg<ClusterRequest>();
        Assert.Equal("moved", resent.Request.RequestId);
        Assert.True(resent.Resent);
    }

    [Fact]
    public void A_request_released_and_taken_by_the_next_incarnation_is_not_resent()
    {
        var (relay, region, supervisor) = StartWithOneAcknowledged("moved");
        relay.Tell(new RequestReleased("moved"), supervisor.Ref);
        relay.Tell(new RequestAccepted("moved"), supervisor.Ref);
        Advance(AckTimeout * 2);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
