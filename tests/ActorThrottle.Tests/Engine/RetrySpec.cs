using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Serilog;
using Serilog.Events;
using Xunit;

namespace ActorThrottle.Tests.Engine;

public sealed class RetrySpec : EngineSpecBase
{
    [Fact]
    public async Task A_rate_limited_request_is_retried_until_it_succeeds()
    {
        var backend = new ScriptedBackend((r, n) => n < 3 ? ScriptedBackend.RateLimited() : ScriptedBackend.Success(r));
        var engine = StartEngine(backend);
        var reply = await Ask<ChatSuccess>(engine, Request(id: "r"));
        Assert.Equal(3, reply.Attempts);
        Assert.Equal(3, backend.CallsFor("r"));
    }

    [Fact]
    public async Task Insufficient_quota_is_answered_at_once_without_a_retry()
    {
        var backend = new ScriptedBackend((_, _) => ScriptedBackend.QuotaExceeded());
        var engine = StartEngine(backend);
        var reply = await Ask<ChatFailure>(engine, Request(id: "q"));
        Assert.Equal(FailureReason.Permanent, reply.Reason);
        Assert.Equal("insufficient_quota", reply.ProviderCode);
        Assert.Equal(429, reply.StatusCode);
        Assert.Equal(1, backend.CallsFor("q"));
    }

    [Fact]
    public async Task A_permanent_error_is_answered_at_once_without_a_retry()
    {
        var backend = new ScriptedBackend((_, _) => ScriptedBackend.BadRequest());
        var engine = StartEngine(backend);
        var reply = await Ask<ChatFailure>(engine, Request(id: "p"));
        Assert.Equal(FailureReason.Permanent, reply.Reason);
        Assert.Equal(400, reply.StatusCode);
        Assert.Equal(1, reply.Attempts);
        Assert.Equal(1, backend.CallsFor("p"));
    }

    [Fact]
    public async Task A_transient_error_is_retried_and_then_succeeds()
    {
        var backend = new ScriptedBackend((r, n) => n == 1 ? ScriptedBackend.ServerError(503) : ScriptedBackend.Success(r));
        var engine = StartEngine(backend);
        Assert.Equal(2, (await Ask<ChatSuccess>(engine, Request())).Attempts);
    }

    [Fact]
    public async Task Requests_waiting_out_an_outage_go_as_soon_as_the_provider_answers_again_not_at_the_end_of_their_backoff()
    {
        var down = 1;
        var backend = new ScriptedBackend((r, _) => Volatile.Read(ref down) == 1 ? ScriptedBackend.ServerError(529) : ScriptedBackend.Success(r));
        // A backoff of up to a minute: without the release at the outage's end the replies would come long after the test's 20 s.
        var sink = new CapturingSink();
        var engine = StartEngine(backend, "actor-throttle.defaults { retry { base-delay = 60s, max-delay = 60s }\n adapt.cool-down = 20ms }",
            new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger());
        var waiting = Enumerable.Range(0, 10).Select(i => engine.CompleteAsync(Request(id: $"w{i}"))).ToList();
        await AwaitConditionAsync(() => Task.FromResult(Enumerable.Range(0, 10).All(i => backend.CallsFor($"w{i}") >= 1)), TimeSpan.FromSeconds(10));

        Volatile.Write(ref down, 0);
        // The next attempt answered (a new request, once the outage pause is over) ends the outage.
        Assert.Equal(1, (await Ask<ChatSuccess>(engine, Request(id: "probe"))).Attempts);

        // Every one of them, including those that failed before the outage was told (a backoff of their own).
        Assert.All(await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(20)), reply => Assert.IsType<ChatSuccess>(reply));
        // The outage is told once as a warning, and its end with the requests sent on.
        var warning = Assert.Single(sink.Events, e => e.Level == LogEventLevel.Warning);
        Assert.Contains("failed with server errors", warning.RenderMessage());
        Assert.Contains(sink.Events, e => e.RenderMessage().Contains("answers again after an outage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Attempts_stop_at_max_attempts_with_the_typed_reason()
    {
        var backend = new ScriptedBackend((r, _) => r.RequestId.StartsWith("rl") ? ScriptedBackend.RateLimited() : ScriptedBackend.ServerError(502));
        var engine = StartEngine(backend);
        var limited = await Ask<ChatFailure>(engine, Request(id: "rl"));
        Assert.Equal(FailureReason.RateLimitedExhausted, limited.Reason);
        Assert.Equal(4, limited.Attempts);
        Assert.Equal(4, backend.CallsFor("rl"));
        var transient = await Ask<ChatFailure>(engine, Request(id: "tr"));
        Assert.Equal(FailureReason.Transient, transient.Reason);
        Assert.Equal(502, transient.StatusCode);
        Assert.Equal(4, backend.CallsFor("tr"));
    }

    [Fact]
    public async Task A_retry_never_comes_before_the_providers_retry_after()
    {
        var backend = new ScriptedBackend((r, n) => n == 1 ? ScriptedBackend.RateLimited(TimeSpan.FromMilliseconds(400)) : ScriptedBackend.Success(r));
        var engine = StartEngine(backend);
        await Ask<ChatSuccess>(engine, Request(id: "ra"));
        var calls = backend.Calls;
        Assert.True(calls[1].At - calls[0].At >= TimeSpan.FromMilliseconds(390), $"retried after {(calls[1].At - calls[0].At).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task With_the_retry_budget_spent_a_failure_is_answered_instead_of_retried()
    {
        var backend = new ScriptedBackend((_, _) => ScriptedBackend.ServerError());
        var engine = StartEngine(backend, "actor-throttle.defaults.retry { budget = 0, budget-min-per-second = 0 }");
        var reply = await Ask<ChatFailure>(engine, Request(id: "b"));
        Assert.Equal(FailureReason.Transient, reply.Reason);
        Assert.Contains("budget", reply.Message);
        Assert.Equal(1, backend.CallsFor("b"));
    }

    [Fact]
    public async Task A_retry_that_would_land_after_the_deadline_is_answered_DeadlineExceeded()
    {
        var backend = new ScriptedBackend((_, _) => ScriptedBackend.RateLimited(TimeSpan.FromSeconds(10)));
        var engine = StartEngine(backend, "actor-throttle.defaults.retry.max-retry-after = 60s");
        var reply = await Ask<ChatFailure>(engine, Request(id: "d") with { Deadline = DateTimeOffset.UtcNow.AddSeconds(2) });
        Assert.Equal(FailureReason.DeadlineExceeded, reply.Reason);
        Assert.Equal(1, reply.Attempts);
        Assert.Equal(429, reply.StatusCode);
    }

    [Fact]
    public async Task A_429_shrinks_the_burst_window_and_successes_grow_it_back()
    {
        var limited = 1;
        var backend = new ScriptedBackend((r, _) => Interlocked.Exchange(ref limited, 0) == 1 ? ScriptedBackend.RateLimited() : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, "actor-throttle.defaults { max-burst = 8, adapt { increase-after = 2, cool-down = 10s } }");
        await Ask<ChatSuccess>(engine, Request());
        Assert.Equal(4, (await engine.GetStatusAsync("m")).Burst);
        for (var i = 0; i < 8; i++)
        {
            await Ask<ChatSuccess>(engine, Request());
        }
        Assert.Equal(8, (await engine.GetStatusAsync("m")).Burst);
    }

    [Fact]
    public async Task Continued_429s_at_the_burst_floor_lower_the_rate()
    {
        var backend = new ScriptedBackend((_, _) => ScriptedBackend.RateLimited());
        var engine = StartEngine(backend, "actor-throttle.defaults { max-burst = 2, requests-per-second = 1000, retry.max-attempts = 3, adapt.cool-down = 0s }");
        await Ask<ChatFailure>(engine, Request());
        var status = await engine.GetStatusAsync("m");
        Assert.Equal(1, status.Burst);
        Assert.Equal(250, status.Rate, 6);
    }

    [Fact]
    public async Task Remaining_requests_at_zero_pause_the_model_until_the_reset()
    {
        var backend = new ScriptedBackend((r, _) => ScriptedBackend.Success(r) with
        {
            RateLimits = new RateLimitInfo { RemainingRequests = 0, ResetRequests = TimeSpan.FromMilliseconds(500) },
        });
        var engine = StartEngine(backend);
        await Ask<ChatSuccess>(engine, Request(id: "a"));
        var status = await engine.GetStatusAsync("m");
        Assert.NotNull(status.PausedUntil);
        await Ask<ChatSuccess>(engine, Request(id: "b"));
        var calls = backend.Calls;
        Assert.True(calls[1].At - calls[0].At >= TimeSpan.FromMilliseconds(450), $"second call after {(calls[1].At - calls[0].At).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task With_pause_on_retry_after_model_a_429_pauses_the_whole_model()
    {
        var backend = new ScriptedBackend((r, n) => r.RequestId == "a" && n == 1 ? ScriptedBackend.RateLimited(TimeSpan.FromSeconds(30)) : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, "actor-throttle.defaults { adapt.pause-on-retry-after = model, retry.max-retry-after = 60s }");
        var a = engine.CompleteAsync(Request(id: "a"));
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls == 1));
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).PausedUntil is not null);
        var b = engine.CompleteAsync(Request(id: "b"));
        await Task.Delay(300);
        Assert.Equal(0, backend.CallsFor("b"));
        Assert.False(a.IsCompleted);
    }

    [Fact]
    public async Task With_pause_on_retry_after_request_other_requests_keep_flowing()
    {
        var backend = new ScriptedBackend((r, n) => r.RequestId == "a" && n == 1 ? ScriptedBackend.RateLimited(TimeSpan.FromSeconds(30)) : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, "actor-throttle.defaults.retry.max-retry-after = 60s");
        _ = engine.CompleteAsync(Request(id: "a"));
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls == 1));
        await Ask<ChatSuccess>(engine, Request(id: "b"));
        Assert.Null((await engine.GetStatusAsync("m")).PausedUntil);
    }

    [Fact]
    public async Task A_backend_that_throws_counts_as_transient_and_its_message_never_carries_the_key()
    {
        const string key = "sk-thrown-SECRET-98765";
        var backend = new ScriptedBackend((r, n, _) => n == 1
            ? throw new InvalidOperationException($"bad auth header Bearer {key}")
            : Task.FromResult(ScriptedBackend.ServerError(500)));
        var engine = StartEngine(backend, $"actor-throttle {{ api-key = \"{key}\", defaults.retry.max-attempts = 2 }}");
        var reply = await Ask<ChatFailure>(engine, Request(id: "throws"));
        Assert.Equal(FailureReason.Transient, reply.Reason);
        Assert.Equal(2, reply.Attempts);
        Assert.DoesNotContain(key, reply.ToString());
    }
}
