using System.Collections.Concurrent;
using System.Diagnostics;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Diagnostics;

/// <summary>
/// The <c>ActorThrottle</c> activity source against a loopback server through the real OpenAI backend: the caller's
/// trace continues through the request span and the attempt spans down to the HTTP client span of each call.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class TracingSpec : IAsyncLifetime
{
    private const string Key = "sk-trace-SECRET-7731";
    private static readonly ActivitySource Caller = new("ActorThrottle.Tests.Caller");
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private ScriptedHttpServer _server = null!;
    private ActivityListener _listener = null!;
    private ActorSystem _system = null!;

    public async Task InitializeAsync()
    {
        _server = await ScriptedHttpServer.StartAsync();
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is ActorThrottleTracing.SourceName or "System.Net.Http" or "ActorThrottle.Tests.Caller",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
        _system = ActorSystem.Create("tracing", "akka.loglevel = WARNING");
    }

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        _listener.Dispose();
        await _server.DisposeAsync();
    }

    private ActorThrottleEngine StartEngine() =>
        ActorThrottleEngine.Start(_system, TestConfig.Settings($$"""
            actor-throttle {
              endpoint = "{{_server.V1}}"
              api-key = "{{Key}}"
              defaults.retry { max-attempts = 3, base-delay = 1ms, max-delay = 5ms }
            }
            """), new ThrottleEnvironment { Logger = new LoggerConfiguration().CreateLogger(), RandomFor = _ => new Random(3) });

    [Fact]
    public async Task A_429_then_a_success_gives_caller_request_two_attempts_and_their_http_spans_in_one_trace()
    {
        var calls = 0;
        _server.Respond(_ => Interlocked.Increment(ref calls) == 1
            ? ScriptedResponse.Error(429, "rate_limit_exceeded", "slow down").WithHeader("retry-after-ms", "5")
            : ScriptedResponse.Completion("hi there", promptTokens: 12, completionTokens: 3));
        var engine = StartEngine();

        ChatReply reply;
        ActivityTraceId traceId;
        ActivitySpanId callerSpan;
        using (var caller = Caller.StartActivity("caller")!)
        {
            traceId = caller.TraceId;
            callerSpan = caller.SpanId;
            reply = await engine.CompleteAsync(new ChatRequest("gpt-trace", [ChatMessage.User("hi")]) { RequestId = "trace-1", MaxTokens = 20 })
                .WaitAsync(TimeSpan.FromSeconds(20));
        }
        Assert.IsType<ChatSuccess>(reply);

        var spans = _stopped.Where(a => a.TraceId == traceId).ToList();
        var request = Assert.Single(spans, a => a.Source.Name == ActorThrottleTracing.SourceName && a.Kind == ActivityKind.Internal);
        Assert.Equal("throttle gpt-trace", request.DisplayName);
        Assert.Equal(callerSpan, request.ParentSpanId);
        Assert.Equal("trace-1", request.GetTagItem("actor_throttle.request_id"));
        Assert.Equal(2, request.GetTagItem("actor_throttle.attempts"));
        Assert.Equal("success", request.GetTagItem("actor_throttle.outcome"));
        Assert.NotNull(request.GetTagItem("actor_throttle.queue_wait_ms"));
        Assert.Equal(ActivityStatusCode.Unset, request.Status);

        var attempts = spans.Where(a => a.Source.Name == ActorThrottleTracing.SourceName && a.Kind == ActivityKind.Client)
            .OrderBy(a => (int)a.GetTagItem("actor_throttle.attempt")!).ToList();
        Assert.Equal(2, attempts.Count);
        foreach (var attempt in attempts)
        {
            Assert.Equal("chat gpt-trace", attempt.DisplayName);
            Assert.Equal(request.SpanId, attempt.ParentSpanId);
            Assert.Equal("chat", attempt.GetTagItem("gen_ai.operation.name"));
            Assert.Equal("gpt-trace", attempt.GetTagItem("gen_ai.request.model"));
            Assert.Equal("openai", attempt.GetTagItem("gen_ai.provider.name"));
            Assert.Equal("127.0.0.1", attempt.GetTagItem("server.address"));
            Assert.Equal(_server.Port, attempt.GetTagItem("server.port"));
            Assert.Equal(20, attempt.GetTagItem("gen_ai.request.max_tokens"));
        }
        Assert.Equal("429", attempts[0].GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Null(attempts[1].GetTagItem("error.type"));
        Assert.Equal(12, attempts[1].GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(3, attempts[1].GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(new[] { "stop" }, Assert.IsType<string[]>(attempts[1].GetTagItem("gen_ai.response.finish_reasons")));
        Assert.Equal("gpt-test-2025", attempts[1].GetTagItem("gen_ai.response.model"));

        // The OpenAI SDK's HTTP call of each attempt is that attempt's child, and the provider sees the trace.
        var http = spans.Where(a => a.Source.Name == "System.Net.Http").ToList();
        Assert.Equal(2, http.Count);
        Assert.Equal(attempts.Select(a => a.SpanId).OrderBy(s => s.ToHexString()), http.Select(h => h.ParentSpanId).OrderBy(s => s.ToHexString()));
        Assert.All(_server.Requests, r => Assert.Contains(traceId.ToHexString(), r.Header("traceparent") ?? ""));

        // No tag anywhere carries the key.
        Assert.All(spans, s => Assert.All(s.TagObjects, t => Assert.DoesNotContain("SECRET", Convert.ToString(t.Value) ?? "")));
    }

    [Fact]
    public async Task Every_request_gets_exactly_one_request_span_and_a_request_without_a_caller_trace_is_a_root()
    {
        _server.Respond(ScriptedResponse.Completion());
        var engine = StartEngine();
        Assert.Null(Activity.Current);
        var ids = Enumerable.Range(0, 6).Select(i => $"root-{i}").ToList();
        var replies = await Task.WhenAll(ids.Select(id => engine.CompleteAsync(new ChatRequest("gpt-root", [ChatMessage.User("hi")]) { RequestId = id })))
            .WaitAsync(TimeSpan.FromSeconds(20));
        Assert.All(replies, r => Assert.IsType<ChatSuccess>(r));

        var requestSpans = _stopped.Where(a => a.Source.Name == ActorThrottleTracing.SourceName && a.Kind == ActivityKind.Internal
            && ids.Contains(a.GetTagItem("actor_throttle.request_id") as string ?? "")).ToList();
        Assert.Equal(ids.Order(), requestSpans.Select(a => (string)a.GetTagItem("actor_throttle.request_id")!).Order());
        Assert.All(requestSpans, a => Assert.Equal(default, a.ParentSpanId));
        // Six different traces: an actor thread's current activity does not leak from one request into the next.
        Assert.Equal(6, requestSpans.Select(a => a.TraceId).Distinct().Count());
        // Each attempt (one per request here) hangs under its own request span.
        var attempts = _stopped.Where(a => a.Kind == ActivityKind.Client && a.Source.Name == ActorThrottleTracing.SourceName
            && ids.Contains(a.GetTagItem("actor_throttle.request_id") as string ?? "")).ToList();
        Assert.Equal(6, attempts.Count);
        Assert.All(attempts, a => Assert.Contains(requestSpans, r => r.SpanId == a.ParentSpanId && r.TraceId == a.TraceId));
    }

    [Fact]
    public async Task A_request_answered_at_admission_gets_one_failed_request_span()
    {
        var engine = StartEngine();
        var reply = await engine.CompleteAsync(new ChatRequest("gpt-late", [ChatMessage.User("hi")]) { RequestId = "late-1", Deadline = DateTimeOffset.UtcNow.AddDays(-1) })
            .WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(FailureReason.DeadlineExceeded, Assert.IsType<ChatFailure>(reply).Reason);
        var span = Assert.Single(_stopped, a => a.Source.Name == ActorThrottleTracing.SourceName && (a.GetTagItem("actor_throttle.request_id") as string) == "late-1");
        Assert.Equal("deadline_exceeded", span.GetTagItem("error.type"));
        Assert.Equal(0, span.GetTagItem("actor_throttle.attempts"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(0, _server.RequestCount);
    }

    [Fact]
    public void The_caller_context_is_captured_when_a_request_is_made_and_kept_when_it_is_sent()
    {
        using var caller = Caller.StartActivity("caller")!;
        caller.TraceStateString = "vendor=1";
        var request = new ChatRequest("m", [ChatMessage.User("hi")]);
        Assert.Equal($"00-{caller.TraceId.ToHexString()}-{caller.SpanId.ToHexString()}-01", request.TraceParent);
        Assert.Equal("vendor=1", request.TraceState);
        using var other = Caller.StartActivity("other")!;
        // Already carrying one: the facade keeps it.
        Assert.Same(request, request.WithTraceContext());
        var bare = request with { TraceParent = null, TraceState = null };
        Assert.Contains(other.SpanId.ToHexString(), bare.WithTraceContext().TraceParent);
    }
}
