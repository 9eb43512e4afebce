using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Routing;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Xunit;

namespace ActorThrottle.Tests.Engine;

public sealed class ExactlyOnceSpec : EngineSpecBase
{
    [Fact]
    public async Task Under_random_outcomes_every_request_is_answered_exactly_once_within_max_attempts()
    {
        var random = new Random(1234);
        var gate = new object();
        BackendResponse Next(ChatRequest r)
        {
            int draw;
            lock (gate)
            {
                draw = random.Next(100);
            }
            return draw switch
            {
                < 15 => ScriptedBackend.RateLimited(),
                < 25 => ScriptedBackend.ServerError(),
                < 28 => ScriptedBackend.BadRequest(),
                _ => ScriptedBackend.Success(r),
            };
        }
        var backend = new ScriptedBackend(async (r, _, _) => { await Task.Yield(); return Next(r); });
        var engine = StartEngine(backend, "actor-throttle.defaults { adapt.cool-down = 1s, min-rate = 100 }");
        var (collector, replies) = ReplyCollector.Start(Sys);
        const int count = 600;
        for (var i = 0; i < count; i++)
        {
            engine.Router.Tell(Request(model: "m" + (i % 3), id: "r" + i), collector);
        }
        await AwaitConditionAsync(() => Task.FromResult(replies.Count == count), TimeSpan.FromSeconds(60));
        await Task.Delay(300); // a duplicate would arrive in this time
        Assert.Equal(count, replies.Count);
        Assert.All(replies, kv => Assert.Single(kv.Value));
        foreach (var (id, answers) in replies)
        {
            answers.TryPeek(out var reply);
            Assert.Equal(backend.CallsFor(id), reply!.Attempts);
            Assert.InRange(reply.Attempts, 1, 4);
        }
    }

    [Fact]
    public async Task A_killed_ModelActor_is_restarted_and_every_accepted_request_is_still_answered_once()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, ct) => { await gate.Task.WaitAsync(ct); return ScriptedBackend.Success(r); });
        var engine = StartEngine(backend, "actor-throttle.defaults { max-in-flight = 4, requests-per-second = 1000 }");
        var (collector, replies) = ReplyCollector.Start(Sys);
        const int count = 50;
        for (var i = 0; i < count; i++)
        {
            engine.Router.Tell(Request(id: "k" + i), collector);
        }
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).Pending == count && backend.TotalCalls == 4);

        var modelActor = await Sys.ActorSelection(engine.Router.Path / ThrottleRouter.ActorName("m") / "model").ResolveOne(TimeSpan.FromSeconds(5));
        Watch(modelActor);
        modelActor.Tell(Kill.Instance);
        // Restarted, not stopped: the supervisor's strategy restarts on any failure.
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        gate.SetResult();

        await AwaitConditionAsync(() => Task.FromResult(replies.Count == count), TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        Assert.All(replies, kv => Assert.IsType<ChatSuccess>(Assert.Single(kv.Value)));
        // The four calls in flight at the kill were cancelled and re-sent; nothing else ran twice.
        Assert.InRange(backend.TotalCalls, count, count + 4);
    }

    [Fact]
    public async Task Coordinated_shutdown_answers_every_queued_and_in_flight_request_and_terminates()
    {
        var backend = new ScriptedBackend(async (r, _, ct) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            return ScriptedBackend.Success(r);
        });
        var engine = StartEngine(backend, "actor-throttle { shutdown-grace = 2s, defaults { requests-per-second = 50, max-in-flight = 4, queue-size = 10000 } }");
        const int count = 2000;
        // Asks, not a collector actor: a user actor is stopped with the system and could drop replies
        // still in its mailbox, which would blame the engine for the test's own loss.
        var asks = Enumerable.Range(0, count).Select(i => engine.CompleteAsync(Request(model: "m" + (i % 4), id: "s" + i))).ToList();
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls >= 8));
        await CoordinatedShutdown.Get(Sys).Run(CoordinatedShutdown.ClrExitReason.Instance).WaitAsync(TimeSpan.FromSeconds(30));
        await Sys.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(30));
        var replies = await Task.WhenAll(asks).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Enumerable.Range(0, count).Select(i => "s" + i), replies.Select(r => r.RequestId));
        var shuttingDown = replies.OfType<ChatFailure>().ToList();
        Assert.All(shuttingDown, f => Assert.Equal(FailureReason.ShuttingDown, f.Reason));
        Assert.Contains(replies, r => r is ChatSuccess);
        Assert.NotEmpty(shuttingDown);
    }
}
