using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Routing;
using ActorThrottle.Tests.Engine;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Reliability;

/// <summary>
/// Issue 5, item 3: failures inside a model's stream and of the ModelActor itself. The supervisor restarts the actor
/// and every accepted request is still answered exactly once.
/// </summary>
public sealed class CrashSpec : EngineSpecBase
{
    /// <summary>A clock whose monotonic timestamp throws once, at a chosen read: the one place in the stream outside any catch.</summary>
    private sealed class FaultingClock(int throwAtRead) : TimeProvider
    {
        private int _reads;

        public int Thrown;

        public override long GetTimestamp()
        {
            if (Interlocked.Increment(ref _reads) == throwAtRead)
            {
                Interlocked.Increment(ref Thrown);
                throw new InvalidOperationException("injected clock failure");
            }
            return base.GetTimestamp();
        }
    }

    [Fact]
    public async Task An_exception_that_fails_the_stream_restarts_the_ModelActor_and_every_request_is_answered_once()
    {
        // One call at a time, so reads alternate start/end of a call: read 41 is the start of call 21, outside the call's try.
        var clock = new FaultingClock(throwAtRead: 41);
        var backend = new ScriptedBackend(async (r, _, _) => { await Task.Delay(1); return ScriptedBackend.Success(r); });
        var sink = new CapturingSink();
        var engine = StartEngine(backend, "actor-throttle.defaults { max-in-flight = 1 }",
            logger: new LoggerConfiguration().MinimumLevel.Information().WriteTo.Sink(sink).CreateLogger(), time: clock);
        var (collector, replies) = ReplyCollector.Start(Sys);
        const int count = 100;
        for (var i = 0; i < count; i++)
        {
            engine.Router.Tell(Request(id: "c" + i), collector);
        }
        await AwaitConditionAsync(() => Task.FromResult(replies.Count == count), TimeSpan.FromSeconds(30));
        await Task.Delay(300);

        Assert.Equal(1, clock.Thrown);
        Assert.Contains(sink.Events, e => e.MessageTemplate.Text.Contains("restarted"));
        Assert.Equal(count, replies.Count);
        Assert.All(replies, kv => Assert.IsType<ChatSuccess>(Assert.Single(kv.Value)));
        // The element that failed the stream never reached the backend; it was re-submitted and sent once.
        Assert.All(replies.Keys, id => Assert.Equal(1, backend.CallsFor(id)));
    }

    [Fact]
    public async Task A_backend_that_breaks_its_contract_by_answering_null_does_not_leave_the_request_unanswered()
    {
        var backend = new ScriptedBackend((r, n) => r.RequestId == "poison" && n == 1 ? null! : ScriptedBackend.Success(r));
        var engine = StartEngine(backend);
        var poison = engine.CompleteAsync(Request(id: "poison"));
        var others = Enumerable.Range(0, 20).Select(i => engine.CompleteAsync(Request(id: "ok" + i))).ToList();

        var reply = await poison.WaitAsync(TimeSpan.FromSeconds(10));
        // The null answer counts as a transient failure of that attempt; the retry succeeds.
        Assert.IsType<ChatSuccess>(reply);
        Assert.Equal(2, reply.Attempts);
        Assert.All(await Task.WhenAll(others).WaitAsync(TimeSpan.FromSeconds(10)), r => Assert.IsType<ChatSuccess>(r));
    }

    [Fact]
    public async Task Repeated_kills_of_the_ModelActor_under_load_with_random_outcomes_answer_every_accepted_request_once()
    {
        var random = new Random(99);
        var gate = new object();
        var backend = new ScriptedBackend(async (r, _, ct) =>
        {
            int draw;
            lock (gate)
            {
                draw = random.Next(100);
            }
            await Task.Delay(draw % 5, ct);
            return draw < 10 ? ScriptedBackend.ServerError() : draw < 15 ? ScriptedBackend.RateLimited() : ScriptedBackend.Success(r);
        });
        var engine = StartEngine(backend, "actor-throttle.defaults { max-in-flight = 4, requests-per-second = 500, queue-size = 300, adapt.cool-down = 1s, min-rate = 100 }");
        var (collector, replies) = ReplyCollector.Start(Sys);
        const int count = 1200;
        engine.Router.Tell(Request(id: "x-first"), collector);
        await AwaitConditionAsync(() => Task.FromResult(replies.ContainsKey("x-first")), TimeSpan.FromSeconds(10));
        var modelActor = await Sys.ActorSelection(engine.Router.Path / ThrottleRouter.ActorName("m") / "model").ResolveOne(TimeSpan.FromSeconds(5));
        for (var i = 0; i < count; i++)
        {
            engine.Router.Tell(Request(id: "x" + i), collector);
            if (i % 200 == 100)
            {
                // The same path: a restarted actor keeps its ref.
                modelActor.Tell(Kill.Instance);
                await Task.Delay(20);
            }
        }
        await AwaitConditionAsync(() => Task.FromResult(replies.Count == count + 1), TimeSpan.FromSeconds(60));
        await Task.Delay(300);
        Assert.Equal(count + 1, replies.Count);
        Assert.All(replies, kv => Assert.Single(kv.Value));
        var all = replies.Values.Select(q => { q.TryPeek(out var r); return r!; }).ToList();
        // Typed answers only: accepted requests end in success or exhausted retries; the excess was refused QueueFull.
        Assert.All(all.OfType<ChatFailure>(), f => Assert.Contains(f.Reason, new[] { FailureReason.QueueFull, FailureReason.Transient, FailureReason.RateLimitedExhausted }));
        Assert.Contains(all, r => r is ChatSuccess);
        Assert.All(all, r => Assert.InRange(r.Attempts, 0, 4));
        Assert.Equal(0, (await engine.GetStatusAsync("m")).Pending);
    }
}
