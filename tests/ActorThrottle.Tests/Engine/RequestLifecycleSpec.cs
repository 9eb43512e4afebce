using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Xunit;

namespace ActorThrottle.Tests.Engine;

public sealed class RequestLifecycleSpec : EngineSpecBase
{
    [Fact]
    public async Task A_success_carries_content_finish_reason_usage_model_attempts_latency_and_raw_json()
    {
        var engine = StartEngine(ScriptedBackend.AlwaysSucceeds());
        var reply = await Ask<ChatSuccess>(engine, Request(id: "r1"));
        Assert.Equal("r1", reply.RequestId);
        Assert.Equal("ok:r1", reply.Content);
        Assert.Equal("stop", reply.FinishReason);
        Assert.Equal(new TokenUsage(5, 7), reply.Usage);
        Assert.Equal("m-2024", reply.ModelUsed);
        Assert.Equal(1, reply.Attempts);
        Assert.True(reply.Latency >= TimeSpan.Zero);
        Assert.Contains("chatcmpl-r1", reply.RawJson);
    }

    [Theory]
    [InlineData("", "Model")]
    [InlineData("   ", "Model")]
    public async Task A_blank_model_is_answered_InvalidRequest_naming_the_field_and_nothing_is_sent(string model, string field)
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(backend);
        var reply = await Ask<ChatFailure>(engine, Request(model: model));
        Assert.Equal(FailureReason.InvalidRequest, reply.Reason);
        Assert.Contains(field, reply.Message);
        Assert.Equal(0, reply.Attempts);
        Assert.Equal(0, backend.TotalCalls);
    }

    [Fact]
    public async Task A_request_without_messages_is_answered_InvalidRequest_and_nothing_is_sent()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(backend);
        var reply = await Ask<ChatFailure>(engine, new ChatRequest("m", []));
        Assert.Equal(FailureReason.InvalidRequest, reply.Reason);
        Assert.Contains("Messages", reply.Message);
        var nullReply = await Ask<ChatFailure>(engine, new ChatRequest("m", null!));
        Assert.Equal(FailureReason.InvalidRequest, nullReply.Reason);
        Assert.Equal(0, backend.TotalCalls);
    }

    [Fact]
    public async Task An_unknown_model_under_reject_is_answered_UnknownModel()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(backend, """actor-throttle { unknown-models = reject, models { "known.model" { } } }""");
        Assert.Equal(FailureReason.UnknownModel, (await Ask<ChatFailure>(engine, Request(model: "other"))).Reason);
        await Ask<ChatSuccess>(engine, Request(model: "known.model"));
        Assert.Equal(1, backend.TotalCalls);
    }

    [Fact]
    public async Task A_duplicate_pending_request_id_is_refused_without_disturbing_the_first()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, _) => { await gate.Task; return ScriptedBackend.Success(r); });
        var engine = StartEngine(backend);
        var first = engine.CompleteAsync(Request(id: "same"));
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls == 1));
        var second = await engine.CompleteAsync(Request(id: "same"));
        Assert.Equal(FailureReason.InvalidRequest, Assert.IsType<ChatFailure>(second).Reason);
        gate.SetResult();
        Assert.IsType<ChatSuccess>(await first);
    }

    [Fact]
    public async Task A_deadline_already_past_is_answered_DeadlineExceeded_without_a_call()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(backend);
        var reply = await Ask<ChatFailure>(engine, Request() with { Deadline = DateTimeOffset.UtcNow.AddSeconds(-1) });
        Assert.Equal(FailureReason.DeadlineExceeded, reply.Reason);
        Assert.Equal(0, backend.TotalCalls);
    }

    [Fact]
    public async Task A_deadline_that_passes_during_a_call_answers_DeadlineExceeded_and_cancels_the_call()
    {
        var cancelled = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, ct) =>
        {
            ct.Register(() => cancelled.TrySetResult());
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return ScriptedBackend.Success(r);
        });
        var engine = StartEngine(backend);
        var reply = await Ask<ChatFailure>(engine, Request() with { Deadline = DateTimeOffset.UtcNow.AddMilliseconds(300) });
        Assert.Equal(FailureReason.DeadlineExceeded, reply.Reason);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_prompt_larger_than_the_token_budget_is_answered_TooLarge_at_admission()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(backend, "actor-throttle.defaults { tokens-per-minute = 100, default-max-tokens = 10 }");
        var reply = await Ask<ChatFailure>(engine, Request(text: string.Join(' ', Enumerable.Repeat("word", 200))));
        Assert.Equal(FailureReason.TooLarge, reply.Reason);
        Assert.Contains("tokens-per-minute", reply.Message);
        await Ask<ChatSuccess>(engine, Request(text: "small"));
        Assert.Equal(1, backend.TotalCalls);
    }

    [Fact]
    public async Task Requests_beyond_queue_size_are_answered_QueueFull_at_once_and_the_accepted_ones_complete()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, _) => { await gate.Task; return ScriptedBackend.Success(r); });
        var engine = StartEngine(backend, "actor-throttle.defaults { queue-size = 5, max-in-flight = 2 }");
        var pending = Enumerable.Range(0, 5).Select(i => engine.CompleteAsync(Request(id: "ok" + i))).ToList();
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).Pending == 5 && backend.TotalCalls == 2);
        var overflow = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => engine.CompleteAsync(Request(id: "x" + i))));
        Assert.All(overflow, r => Assert.Equal(FailureReason.QueueFull, Assert.IsType<ChatFailure>(r).Reason));
        Assert.Equal(2, backend.TotalCalls);
        gate.SetResult();
        Assert.All(await Task.WhenAll(pending), r => Assert.IsType<ChatSuccess>(r));
        Assert.Equal(5, backend.TotalCalls);
        Assert.Equal(2, backend.MaxObservedInFlight);
    }

    [Fact]
    public async Task Cancelling_a_queued_request_answers_it_Cancelled_and_it_is_never_sent()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, _) => { await gate.Task; return ScriptedBackend.Success(r); });
        var engine = StartEngine(backend, "actor-throttle.defaults { max-in-flight = 1 }");
        var first = engine.CompleteAsync(Request(id: "first"));
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls == 1));
        using var cts = new CancellationTokenSource();
        var second = engine.CompleteAsync(Request(id: "second"), cts.Token);
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).Pending == 2);
        cts.Cancel();
        var cancelled = Assert.IsType<ChatFailure>(await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(FailureReason.Cancelled, cancelled.Reason);
        gate.SetResult();
        Assert.IsType<ChatSuccess>(await first);
        await Task.Delay(100);
        Assert.Equal(0, backend.CallsFor("second"));
    }

    [Fact]
    public async Task Interactive_requests_leave_before_batch_requests_of_the_same_model()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, _) => { await gate.Task; return ScriptedBackend.Success(r); });
        var engine = StartEngine(backend, "actor-throttle.defaults { max-in-flight = 1 }");
        var blocker = engine.CompleteAsync(Request(id: "blocker"));
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls == 1));
        var all = new List<Task<ChatReply>> { blocker };
        for (var i = 0; i < 3; i++)
        {
            all.Add(engine.CompleteAsync(Request(id: "batch" + i) with { Priority = Priority.Batch }));
        }
        for (var i = 0; i < 3; i++)
        {
            all.Add(engine.CompleteAsync(Request(id: "interactive" + i)));
        }
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).Pending == 7);
        gate.SetResult();
        await Task.WhenAll(all);
        var order = backend.Calls.Select(c => c.RequestId).ToList();
        // The throttle stage may already hold the first batch request (it pulls one ahead when the queue has one and the
        // interactive ones are not in yet: the test enqueues one Ask at a time, and a loaded machine runs the stream in
        // between; a fresh-clone CI run saw it). Every request still in the queue leaves by priority.
        var expected = order.IndexOf("batch0") == 1
            ? new[] { "blocker", "batch0", "interactive0", "interactive1", "interactive2", "batch1", "batch2" }
            : ["blocker", "interactive0", "interactive1", "interactive2", "batch0", "batch1", "batch2"];
        Assert.Equal(expected, order);
    }

    [Fact]
    public async Task Tool_calls_a_backend_reports_without_a_body_reach_the_reply()
    {
        var calls = new[] { new ToolCall("call_1", "get_weather", "{\"city\":\"Oslo\"}") };
        var engine = StartEngine(new ScriptedBackend((r, _) => ScriptedBackend.Success(r) with { RawJson = "", ToolCalls = calls, FinishReason = "tool_calls" }));
        var reply = await Ask<ChatSuccess>(engine, Request(id: "tools"));
        Assert.Equal(calls, reply.ToolCalls);
    }
}
