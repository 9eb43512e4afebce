using ActorThrottle.Adaptation;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Routing;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Akka.TestKit;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Cluster;

/// <summary>The supervisor's side of cluster mode, without a cluster: hand-off, re-delivery, idempotent re-sends, conservative start.</summary>
public sealed class HandOffSpec : Akka.TestKit.Xunit2.TestKit
{
    public HandOffSpec() : base("akka.loglevel = WARNING")
    {
    }

    private IActorRef StartSupervisor(ScriptedBackend backend, TestProbe redeliveries, string overrides = "", AimdState? start = null)
    {
        var settings = TestConfig.Settings(overrides);
        var model = settings.ForModel("m")!;
        var environment = new ThrottleEnvironment { BackendFactory = backend, Logger = new LoggerConfiguration().CreateLogger() };
        var redeliver = redeliveries.Ref;
        return Sys.ActorOf(ModelSupervisor.Props(model, environment, backend, new ActorThrottleMetrics(), settings.ShutdownGrace, start,
            (message, replyTo) => redeliver.Tell(new Redelivered(message, replyTo))));
    }

    private sealed record Redelivered(object Message, IActorRef ReplyTo);

    private static ChatRequest Request(string id) => new("m", [ChatMessage.User("hello " + id)]) { RequestId = id };

    [Fact]
    public void On_hand_off_unsent_requests_are_redelivered_the_call_in_flight_finishes_and_the_supervisor_stops()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, _) =>
        {
            await gate.Task;
            return ScriptedBackend.Success(r);
        });
        var redeliveries = CreateTestProbe();
        var relay = CreateTestProbe();
        // One release a second and a burst of one: the first request goes out, the others wait in the queue.
        // The call in flight is released by the test itself: a grace of its own, longer than the test's steps on a loaded
        // machine (TestConfig's 1 s expired before the gate opened in a fresh-clone CI run, answering it ShuttingDown).
        var supervisor = StartSupervisor(backend, redeliveries, "actor-throttle.shutdown-grace = 30s\nactor-throttle.defaults { requests-per-second = 1, max-burst = 1, min-rate = 0.1, max-in-flight = 1 }");
        Watch(supervisor);
        for (var i = 0; i < 4; i++)
        {
            supervisor.Tell(new ClusterRequest(Request("r" + i), Resent: false), relay.Ref);
            Assert.Equal("r" + i, relay.ExpectMsg<RequestAccepted>().RequestId);
        }
        AwaitCondition(() => backend.TotalCalls == 1, TimeSpan.FromSeconds(5));

        supervisor.Tell(HandOffModel.Instance);
        var moved = Enumerable.Range(0, 3).Select(_ => redeliveries.ExpectMsg<Redelivered>()).ToList();
        Assert.All(moved, m => Assert.Equal(relay.Ref, m.ReplyTo));
        Assert.All(moved, m => Assert.True(Assert.IsType<ClusterRequest>(m.Message).Resent));
        Assert.Equal(["r1", "r2", "r3"], moved.Select(m => ((ClusterRequest)m.Message).Request.RequestId).Order());

        // The relay hears that each left this ledger: unacknowledged until the next incarnation takes it.
        Assert.Equal(["r1", "r2", "r3"], Enumerable.Range(0, 3).Select(_ => relay.ExpectMsg<RequestReleased>().RequestId).Order());

        // A request that arrives during the hand-off goes the same way (it was never acknowledged here).
        supervisor.Tell(new ClusterRequest(Request("late"), Resent: false), relay.Ref);
        Assert.Equal("late", ((ClusterRequest)redeliveries.ExpectMsg<Redelivered>().Message).Request.RequestId);

        // The call in flight finishes and is answered here; then the supervisor stops.
        relay.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        gate.SetResult();
        Assert.Equal("r0", relay.ExpectMsg<ChatSuccess>().RequestId);
        ExpectTerminated(supervisor);
        relay.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, backend.TotalCalls);
    }

    [Fact]
    public void On_hand_off_a_fallback_is_redelivered_with_its_chain_and_attempts_so_far()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, _) =>
        {
            await gate.Task;
            return ScriptedBackend.Success(r);
        });
        var redeliveries = CreateTestProbe();
        var caller = CreateTestProbe();
        // The call in flight is released by the test itself: a grace of its own, longer than the test's steps on a loaded
        // machine (TestConfig's 1 s expired before the gate opened in a fresh-clone CI run, answering it ShuttingDown).
        var supervisor = StartSupervisor(backend, redeliveries, "actor-throttle.shutdown-grace = 30s\nactor-throttle.defaults { requests-per-second = 1, max-burst = 1, min-rate = 0.1, max-in-flight = 1 }");
        supervisor.Tell(new ClusterRequest(Request("first"), Resent: false), caller.Ref);
        caller.ExpectMsg<RequestAccepted>();
        AwaitCondition(() => backend.TotalCalls == 1, TimeSpan.FromSeconds(5));
        // Fell back to m from "a" after 3 calls there; "c" is left. It waits behind the call in flight.
        supervisor.Tell(new FallbackRequest(Request("fell-back"), caller.Ref, ["a"], ["c"], 3), caller.Ref);

        supervisor.Tell(HandOffModel.Instance);
        var moved = redeliveries.ExpectMsg<Redelivered>();
        Assert.Equal(caller.Ref, moved.ReplyTo);
        var fallback = Assert.IsType<FallbackRequest>(moved.Message);
        Assert.Equal("fell-back", fallback.Request.RequestId);
        Assert.Equal(["a"], fallback.Tried);
        Assert.Equal(["c"], fallback.Remaining);
        Assert.Equal(3, fallback.PriorAttempts);
        gate.SetResult();
    }

    [Fact]
    public void A_resent_request_already_held_is_acknowledged_again_but_admitted_and_answered_once()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var relay = CreateTestProbe();
        var supervisor = StartSupervisor(backend, CreateTestProbe(), "actor-throttle.defaults { requests-per-second = 0.5, max-burst = 1, min-rate = 0.1 }");
        // The first request takes the only token; the second waits in the queue while its re-send arrives.
        supervisor.Tell(new ClusterRequest(Request("a"), Resent: false), relay.Ref);
        relay.ExpectMsg<RequestAccepted>();
        supervisor.Tell(new ClusterRequest(Request("b"), Resent: false), relay.Ref);
        supervisor.Tell(new ClusterRequest(Request("b"), Resent: true), relay.Ref);
        var messages = new List<object>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(6);
        while (messages.OfType<ChatReply>().Count() < 2 && DateTime.UtcNow < deadline)
        {
            messages.Add(relay.ReceiveOne(TimeSpan.FromSeconds(1)) ?? "none");
        }
        relay.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var replies = messages.OfType<ChatReply>().ToList();
        // b was acknowledged twice (first send and re-send), admitted once.
        Assert.Equal(2, messages.OfType<RequestAccepted>().Count(a => a.RequestId == "b"));
        Assert.Equal(["a", "b"], replies.Select(r => r.RequestId).Order());
        Assert.All(replies, r => Assert.IsType<ChatSuccess>(r));
        Assert.Equal(1, backend.CallsFor("b"));
    }

    [Fact]
    public void A_plain_request_does_not_get_the_relay_acknowledgement()
    {
        var supervisor = StartSupervisor(ScriptedBackend.AlwaysSucceeds(), CreateTestProbe());
        supervisor.Tell(Request("plain"), TestActor);
        Assert.Equal("plain", ExpectMsg<ChatSuccess>().RequestId);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_supervisor_given_a_conservative_start_reports_and_uses_that_burst()
    {
        var supervisor = StartSupervisor(ScriptedBackend.AlwaysSucceeds(), CreateTestProbe(),
            "actor-throttle.defaults { max-burst = 40, min-burst = 2 }", start: new AimdState(20, 1000));
        supervisor.Tell(new GetModelStatus("m"), TestActor);
        var status = ExpectMsg<ModelStatus>();
        Assert.Equal(20, status.Burst);
        Assert.Equal(1000, status.Rate);
    }

    [Fact]
    public void Without_a_redelivery_target_a_hand_off_answers_what_is_queued_shutting_down()
    {
        var backend = new ScriptedBackend(async (r, _, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return ScriptedBackend.Success(r);
        });
        var settings = TestConfig.Settings("actor-throttle.shutdown-grace = 200ms\nactor-throttle.defaults { requests-per-second = 1, max-burst = 1, min-rate = 0.1 }");
        var supervisor = Sys.ActorOf(ModelSupervisor.Props(settings.ForModel("m")!, new ThrottleEnvironment { Logger = new LoggerConfiguration().CreateLogger() },
            backend, new ActorThrottleMetrics(), settings.ShutdownGrace));
        Watch(supervisor);
        supervisor.Tell(Request("x"), TestActor);
        supervisor.Tell(Request("y"), TestActor);
        AwaitCondition(() => backend.TotalCalls == 1, TimeSpan.FromSeconds(5));
        supervisor.Tell(HandOffModel.Instance);
        var replies = new[] { ExpectMsg<ChatFailure>(TimeSpan.FromSeconds(5)), ExpectMsg<ChatFailure>(TimeSpan.FromSeconds(5)) };
        Assert.All(replies, r => Assert.Equal(FailureReason.ShuttingDown, r.Reason));
        ExpectTerminated(supervisor);
    }
}
