using ActorThrottle.Messages;
using ActorThrottle.Routing;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Xunit;

namespace ActorThrottle.Tests.Engine;

/// <summary>DESIGN.md's stream protocol: chunks in order, then exactly one terminal reply; retries only before the first chunk.</summary>
public sealed class StreamingSpec : EngineSpecBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private const string PrimaryFallsBackToSecondary = "actor-throttle.models { primary { fallbacks = [\"secondary\"] }\n secondary { } }";

    private static ChatChunk ExpectChunk(Akka.TestKit.TestProbe probe, string id, int index, string content)
    {
        var chunk = probe.ExpectMsg<ChatChunk>(Wait);
        Assert.Equal(new ChatChunk(id, index, content), chunk);
        return chunk;
    }

    [Fact]
    public void Chunks_arrive_in_order_then_exactly_one_success_with_the_whole_text_and_usage()
    {
        var backend = ScriptedStreamBackend.Pieces("Hel", "lo", " world");
        var engine = StartEngine(backend);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "s1")), probe.Ref);

        ExpectChunk(probe, "s1", 0, "Hel");
        ExpectChunk(probe, "s1", 1, "lo");
        ExpectChunk(probe, "s1", 2, " world");
        var success = probe.ExpectMsg<ChatSuccess>(Wait);
        Assert.Equal("Hello world", success.Content);
        Assert.Equal(new TokenUsage(5, 7), success.Usage);
        Assert.Equal("m-2024", success.ModelUsed);
        Assert.Equal(1, success.Attempts);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, backend.StreamCalls);
        Assert.Equal(0, backend.PlainCalls);
    }

    [Fact]
    public void A_429_before_the_first_chunk_is_retried_and_the_retry_streams_from_index_0()
    {
        var backend = new ScriptedStreamBackend((r, call, onContent, _) =>
        {
            if (call == 1)
            {
                return Task.FromResult(ScriptedBackend.RateLimited(TimeSpan.FromMilliseconds(10)));
            }
            onContent("a");
            onContent("b");
            return Task.FromResult(ScriptedStreamBackend.Completed(r, "ab"));
        });
        var engine = StartEngine(backend);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "r")), probe.Ref);

        ExpectChunk(probe, "r", 0, "a");
        ExpectChunk(probe, "r", 1, "b");
        Assert.Equal(2, probe.ExpectMsg<ChatSuccess>(Wait).Attempts);
        Assert.Equal(2, backend.CallsFor("r"));
    }

    [Fact]
    public void A_transient_error_after_text_has_flowed_is_reported_not_retried_and_not_handed_to_a_fallback()
    {
        var backend = new ScriptedStreamBackend((r, _, onContent, _) =>
        {
            if (r.Model == "primary")
            {
                onContent("partial ");
                return Task.FromResult(ScriptedBackend.ServerError(502));
            }
            return Task.FromResult(ScriptedStreamBackend.Completed(r, "fallback"));
        });
        var engine = StartEngine(backend, PrimaryFallsBackToSecondary);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(model: "primary", id: "broken")), probe.Ref);

        ExpectChunk(probe, "broken", 0, "partial ");
        var failure = probe.ExpectMsg<ChatFailure>(Wait);
        Assert.Equal(FailureReason.StreamInterrupted, failure.Reason);
        Assert.Equal(502, failure.StatusCode);
        Assert.Contains("after 1 chunks", failure.Message);
        Assert.Equal(1, failure.Attempts);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, backend.StreamCalls);
    }

    [Fact]
    public void An_error_before_the_first_chunk_falls_back_and_the_fallback_streams()
    {
        var backend = new ScriptedStreamBackend((r, _, onContent, _) =>
        {
            if (r.Model == "primary")
            {
                return Task.FromResult(ScriptedBackend.QuotaExceeded());
            }
            onContent("from secondary");
            return Task.FromResult(ScriptedStreamBackend.Completed(r, "from secondary"));
        });
        var engine = StartEngine(backend, PrimaryFallsBackToSecondary);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(model: "primary", id: "fb")), probe.Ref);

        ExpectChunk(probe, "fb", 0, "from secondary");
        var success = probe.ExpectMsg<ChatSuccess>(Wait);
        Assert.Equal("secondary-2024", success.ModelUsed);
        Assert.Equal(2, success.Attempts);
    }

    [Fact]
    public async Task A_streamed_call_holds_its_in_flight_slot_until_the_stream_ends()
    {
        var release = new TaskCompletionSource();
        var backend = new ScriptedStreamBackend(async (r, _, onContent, ct) =>
        {
            onContent("first");
            if (r.RequestId == "long")
            {
                await release.Task.WaitAsync(ct);
            }
            return ScriptedStreamBackend.Completed(r, "first");
        });
        var engine = StartEngine(backend, "actor-throttle.defaults.max-in-flight = 1");
        var longProbe = CreateTestProbe();
        var nextProbe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "long")), longProbe.Ref);
        ExpectChunk(longProbe, "long", 0, "first");
        engine.Router.Tell(new ChatStreamRequest(Request(id: "next")), nextProbe.Ref);

        nextProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Equal(0, backend.CallsFor("next"));
        release.SetResult();
        longProbe.ExpectMsg<ChatSuccess>(Wait);
        ExpectChunk(nextProbe, "next", 0, "first");
        nextProbe.ExpectMsg<ChatSuccess>(Wait);
        Assert.Equal(1, backend.MaxObservedInFlight);
        Assert.Equal(0, (await engine.GetStatusAsync("m")).Pending);
    }

    [Fact]
    public void Cancelling_mid_stream_cancels_the_call_and_nothing_follows_the_Cancelled_reply()
    {
        var backend = ScriptedStreamBackend.FirstChunkThenWaitForCancel("one", out var callCancelled);
        var engine = StartEngine(backend);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "c")), probe.Ref);
        ExpectChunk(probe, "c", 0, "one");

        engine.Router.Tell(new CancelRequest("m", "c"));
        Assert.Equal(FailureReason.Cancelled, probe.ExpectMsg<ChatFailure>(Wait).Reason);
        Assert.True(callCancelled.Wait(Wait));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Text_passed_on_after_the_request_was_answered_never_reaches_the_caller()
    {
        // A backend that ignores its token and keeps streaming after the deadline answered the request.
        var keepGoing = new TaskCompletionSource();
        var backend = new ScriptedStreamBackend(async (r, _, onContent, _) =>
        {
            onContent("before");
            await keepGoing.Task;
            onContent("after");
            return ScriptedStreamBackend.Completed(r, "beforeafter");
        });
        var engine = StartEngine(backend);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "d") with { Deadline = DateTimeOffset.UtcNow.AddSeconds(2) }), probe.Ref);

        ExpectChunk(probe, "d", 0, "before");
        Assert.Equal(FailureReason.DeadlineExceeded, probe.ExpectMsg<ChatFailure>(Wait).Reason);
        keepGoing.SetResult();
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_backend_that_cannot_stream_serves_a_streamed_request_in_one_chunk()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(backend);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "plain")), probe.Ref);

        ExpectChunk(probe, "plain", 0, "ok:plain");
        Assert.Equal("ok:plain", probe.ExpectMsg<ChatSuccess>(Wait).Content);
    }

    [Fact]
    public void An_invalid_stream_request_is_answered_once_with_the_field_named()
    {
        var engine = StartEngine(ScriptedStreamBackend.Pieces("x"));
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(new ChatRequest("m", [])), probe.Ref);
        var failure = probe.ExpectMsg<ChatFailure>(Wait);
        Assert.Equal(FailureReason.InvalidRequest, failure.Reason);
        Assert.Contains("Messages", failure.Message);
        engine.Router.Tell(new ChatStreamRequest(null!), probe.Ref);
        Assert.Equal(FailureReason.InvalidRequest, probe.ExpectMsg<ChatFailure>(Wait).Reason);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_pipeline_restart_after_text_has_flowed_answers_StreamInterrupted_once_instead_of_repeating_the_text()
    {
        var started = new TaskCompletionSource();
        var backend = new ScriptedStreamBackend(async (r, _, onContent, ct) =>
        {
            onContent("so far");
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return ScriptedStreamBackend.Completed(r, "never");
        });
        var engine = StartEngine(backend);
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "k")), probe.Ref);
        ExpectChunk(probe, "k", 0, "so far");
        await started.Task.WaitAsync(Wait);

        var modelActor = await Sys.ActorSelection(engine.Router.Path / ThrottleRouter.ActorName("m") / "model").ResolveOne(TimeSpan.FromSeconds(5));
        modelActor.Tell(Kill.Instance);
        Assert.Equal(FailureReason.StreamInterrupted, probe.ExpectMsg<ChatFailure>(Wait).Reason);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, backend.StreamCalls);
    }

    [Fact]
    public async Task The_client_enumerates_the_chunks_then_the_reply_completes()
    {
        var engine = StartEngine(ScriptedStreamBackend.Pieces("a", "b", "c"));
        var stream = await engine.Client.StreamAsync(Request(id: "e"));
        var seen = new List<ChatChunk>();
        await foreach (var chunk in stream.WithCancellation(CancellationToken.None))
        {
            seen.Add(chunk);
        }
        Assert.Equal(["a", "b", "c"], seen.Select(c => c.Content));
        Assert.Equal([0, 1, 2], seen.Select(c => c.Index));
        Assert.True(stream.Reply.IsCompleted);
        Assert.Equal("abc", Assert.IsType<ChatSuccess>(await stream.Reply).Content);
        Assert.Throws<InvalidOperationException>(() => stream.GetAsyncEnumerator());
    }

    [Fact]
    public async Task Leaving_the_enumeration_early_withdraws_the_request_and_frees_its_slot()
    {
        var engine = StartEngine(ScriptedStreamBackend.FirstChunkThenWaitForCancel("one", out var callCancelled));
        var stream = await engine.Client.StreamAsync(Request(id: "early"));
        await foreach (var chunk in stream)
        {
            Assert.Equal("one", chunk.Content);
            break;
        }
        var reply = Assert.IsType<ChatFailure>(await stream.Reply.WaitAsync(Wait));
        Assert.Equal(FailureReason.Cancelled, reply.Reason);
        await callCancelled.WaitAsync(Wait);
        Assert.Equal(0, (await engine.GetStatusAsync("m")).Pending);
    }

    [Fact]
    public async Task Cancelling_the_token_ends_the_enumeration_and_the_reply_is_Cancelled()
    {
        var engine = StartEngine(ScriptedStreamBackend.FirstChunkThenWaitForCancel("one", out _));
        using var cts = new CancellationTokenSource();
        var stream = await engine.Client.StreamAsync(Request(id: "tok"), cts.Token);
        var seen = new List<string>();
        await foreach (var chunk in stream.WithCancellation(cts.Token))
        {
            seen.Add(chunk.Content);
            await cts.CancelAsync();
        }
        Assert.Equal(["one"], seen);
        Assert.Equal(FailureReason.Cancelled, Assert.IsType<ChatFailure>(await stream.Reply.WaitAsync(Wait)).Reason);
    }

    [Fact]
    public async Task Shutting_down_mid_stream_answers_ShuttingDown_once()
    {
        var engine = StartEngine(ScriptedStreamBackend.FirstChunkThenWaitForCancel("one", out _), "actor-throttle.shutdown-grace = 200ms");
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "sd")), probe.Ref);
        ExpectChunk(probe, "sd", 0, "one");
        await engine.Router.Ask<ThrottleShutdownComplete>(ShutdownThrottle.Instance, Wait);
        Assert.Equal(FailureReason.ShuttingDown, probe.ExpectMsg<ChatFailure>(Wait).Reason);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_stream_request_sent_with_Ask_is_refused_at_once_instead_of_breaking_after_one_chunk()
    {
        var backend = ScriptedStreamBackend.Pieces("a", "b");
        var engine = StartEngine(backend);
        var reply = await engine.Router.Ask<ChatReply>(new ChatStreamRequest(Request(id: "asked")), Wait);
        var failure = Assert.IsType<ChatFailure>(reply);
        Assert.Equal(FailureReason.InvalidRequest, failure.Reason);
        Assert.Contains("Tell", failure.Message);
        Assert.Equal(0, backend.StreamCalls);
    }

    [Fact]
    public async Task Disposing_a_stream_before_its_reply_withdraws_the_request()
    {
        var engine = StartEngine(ScriptedStreamBackend.FirstChunkThenWaitForCancel("one", out var callCancelled));
        var stream = await engine.Client.StreamAsync(Request(id: "disposed"));
        await using (stream)
        {
            await foreach (var _ in stream)
            {
                break;
            }
        }
        Assert.Equal(FailureReason.Cancelled, Assert.IsType<ChatFailure>(await stream.Reply.WaitAsync(Wait)).Reason);
        await callCancelled.WaitAsync(Wait);
    }

    [Fact]
    public async Task A_client_over_a_router_without_a_local_system_streams_the_answer_as_one_chunk()
    {
        var engine = StartEngine(ScriptedStreamBackend.Pieces("a", "b"));
        // The router wrapped so the client cannot see its local cell, as with a remote router.
        var client = new ActorThrottleClient(new OpaqueRef(engine.Router));
        var stream = await client.StreamAsync(Request(id: "remote"));
        var chunks = new List<ChatChunk>();
        await foreach (var chunk in stream)
        {
            chunks.Add(chunk);
        }
        Assert.Equal([new ChatChunk("remote", 0, "ok:remote")], chunks);
        Assert.IsType<ChatSuccess>(await stream.Reply.WaitAsync(Wait));
    }

    [Fact]
    public void A_rate_limit_error_inside_a_stream_still_counts_as_a_rate_signal()
    {
        var backend = new ScriptedStreamBackend((r, _, onContent, _) =>
        {
            onContent("partial");
            return Task.FromResult(ScriptedBackend.RateLimited());
        });
        var engine = StartEngine(backend, "actor-throttle.defaults { max-burst = 8, adapt.cool-down = 1ms }");
        var probe = CreateTestProbe();
        engine.Router.Tell(new ChatStreamRequest(Request(id: "rl")), probe.Ref);
        probe.ExpectMsg<ChatChunk>(Wait);
        Assert.Equal(FailureReason.StreamInterrupted, probe.ExpectMsg<ChatFailure>(Wait).Reason);
        AwaitAssert(() => Assert.True(engine.GetStatusAsync("m").Result.Burst < 8), Wait);
    }

    /// <summary>Forwards to an actor without exposing its cell (what a remote ref looks like to the client).</summary>
    private sealed class OpaqueRef(IActorRef target) : IActorRef
    {
        public ActorPath Path => target.Path;
        public void Tell(object message, IActorRef sender) => target.Tell(message, sender);
        public bool Equals(IActorRef? other) => other is not null && other.Path.Equals(Path);
        public int CompareTo(IActorRef? other) => other is null ? 1 : Path.CompareTo(other.Path);
        public int CompareTo(object? obj) => CompareTo(obj as IActorRef);
        public Akka.Util.ISurrogate ToSurrogate(ActorSystem system) => target.ToSurrogate(system);
    }
}
