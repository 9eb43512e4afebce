using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Akka.TestKit;
using Xunit;

namespace ActorThrottle.Tests.Engine;

/// <summary>
/// The supervisor's wiring of token 429s, the token bucket's burst and overload pauses, under virtual time: the actor
/// system runs on Akka's TestScheduler and the engine reads the same clock, so time moves only when a test advances it.
/// </summary>
public sealed class TokenLimitAndOverloadSpec : EngineSpecBase
{
    private const string TokenTooMany = "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 600000, Used 599000, Requested 1200.";
    private const string RequestTooMany = "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 500, Used 500, Requested 1.";
    private readonly TestScheduler _scheduler;

    public TokenLimitAndOverloadSpec()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
    {
        _scheduler = (TestScheduler)Sys.Scheduler;
    }

    private ActorThrottleEngine Start(ScriptedBackend backend, string overrides) =>
        StartEngine(backend, overrides, time: new SchedulerTimeProvider(_scheduler));

    private static BackendResponse TooMany(string message, TimeSpan? retryAfter = null, RateLimitInfo? headers = null) =>
        ScriptedBackend.RateLimited() with
        {
            ErrorMessage = message,
            RateLimits = (headers ?? RateLimitInfo.None) with { RetryAfter = retryAfter },
        };

    private void Advance(TimeSpan by) => _scheduler.Advance(by);

    private async Task<Models.ModelStatus> StatusAsync(ActorThrottleEngine engine) => await engine.GetStatusAsync("m");

    /// <summary>
    /// Sends the requests 2 ms apart of virtual time (each once its call was made; no advance after the last): 429s of
    /// attempts sent together are one burst's, not an overload, which needs them spread over a few intervals of the rate.
    /// </summary>
    private async Task SendSpreadAsync(ActorThrottleEngine engine, ScriptedBackend backend, params string[] ids)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            if (i > 0)
            {
                Advance(TimeSpan.FromMilliseconds(2));
            }
            _ = engine.CompleteAsync(Request(id: ids[i]));
            var id = ids[i];
            await AwaitConditionAsync(() => Task.FromResult(backend.CallsFor(id) == 1));
        }
    }

    [Fact]
    public async Task A_429_on_the_token_limit_lowers_the_token_rate_and_leaves_the_request_rate()
    {
        var backend = new ScriptedBackend((r, n) => n == 1 ? TooMany(TokenTooMany, TimeSpan.FromSeconds(1)) : ScriptedBackend.Success(r));
        var engine = Start(backend, "actor-throttle.defaults { tokens-per-minute = 600000, adapt.cool-down = 10s }");
        var reply = engine.CompleteAsync(Request(id: "t"));
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).TokensPerMinute < 600_000);
        var status = await StatusAsync(engine);
        Assert.Equal(300_000, status.TokensPerMinute); // no estimate yet: the decrease factor
        Assert.Equal(1000, status.Rate);
        Assert.Equal(50, status.Burst);
        Advance(TimeSpan.FromSeconds(2));
        Assert.IsType<ChatSuccess>(await reply.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_429_on_the_request_limit_lowers_the_request_side_and_leaves_the_token_rate()
    {
        var backend = new ScriptedBackend((r, n) => n == 1 ? TooMany(RequestTooMany, TimeSpan.FromSeconds(1)) : ScriptedBackend.Success(r));
        var engine = Start(backend, "actor-throttle.defaults { tokens-per-minute = 600000, adapt.cool-down = 10s }");
        _ = engine.CompleteAsync(Request(id: "r"));
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).Burst < 50);
        var status = await StatusAsync(engine);
        Assert.Equal(25, status.Burst);
        Assert.Equal(600_000, status.TokensPerMinute);
    }

    [Fact]
    public async Task Without_a_telling_message_the_headers_name_the_token_limit()
    {
        var headers = new RateLimitInfo { RemainingRequests = 400, RemainingTokens = 0 };
        var backend = new ScriptedBackend((r, n) => n == 1 ? TooMany("Too Many Requests", TimeSpan.FromSeconds(1), headers) : ScriptedBackend.Success(r));
        var engine = Start(backend, "actor-throttle.defaults { tokens-per-minute = 600000, adapt.cool-down = 10s }");
        _ = engine.CompleteAsync(Request(id: "h"));
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).TokensPerMinute < 600_000);
        Assert.Equal(50, (await StatusAsync(engine)).Burst);
    }

    [Fact]
    public async Task A_token_429_on_a_model_without_a_token_budget_lowers_the_request_side()
    {
        var backend = new ScriptedBackend((r, n) => n == 1 ? TooMany(TokenTooMany, TimeSpan.FromSeconds(1)) : ScriptedBackend.Success(r));
        var engine = Start(backend, "actor-throttle.defaults.adapt.cool-down = 10s");
        _ = engine.CompleteAsync(Request(id: "n"));
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).Burst < 50);
        Assert.Equal(0, (await StatusAsync(engine)).TokensPerMinute);
    }

    [Fact]
    public async Task Tokens_burst_lets_only_the_burst_leave_at_once_then_the_token_rate_paces()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        // 6,000 tokens/min = 100/s; each request costs its prompt (a few tokens) + 100 max tokens; a burst of 250 holds two.
        var engine = Start(backend, "actor-throttle.defaults { tokens-per-minute = 6000, tokens-burst = 250 }");
        var replies = Enumerable.Range(0, 6).Select(i => engine.CompleteAsync(Request(id: $"b{i}") with { MaxTokens = 100 })).ToList();
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls == 2));
        await Task.Delay(200);
        Assert.Equal(2, backend.TotalCalls); // a minute's bucket would have let all six out
        for (var i = 0; i < 40 && backend.TotalCalls < 6; i++)
        {
            Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }
        await AwaitConditionAsync(() => Task.FromResult(backend.TotalCalls == 6));
        await Task.WhenAll(replies).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task When_most_attempts_are_rejected_the_whole_model_pauses_for_the_retry_after_and_both_burst_and_rate_are_cut()
    {
        var calls = 0;
        var backend = new ScriptedBackend((r, _) => r.RequestId != "w" && Interlocked.Increment(ref calls) <= 4 ? TooMany(RequestTooMany, TimeSpan.FromSeconds(30)) : ScriptedBackend.Success(r));
        var engine = Start(backend, "actor-throttle.defaults { adapt.cool-down = 10s, retry.max-retry-after = 60s }");
        Assert.IsType<ChatSuccess>(await engine.CompleteAsync(Request(id: "w")));
        await SendSpreadAsync(engine, backend, "a", "b", "c", "d");
        var start = _scheduler.Now;
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).PausedUntil is not null);
        var status = await StatusAsync(engine);
        Assert.Equal(start + TimeSpan.FromSeconds(30), status.PausedUntil);
        // The first 429 shrank the burst (50 → 25), the next two fell in its cool-down, the overload cut both from
        // where they were before that first step (the same congestion): burst 25, rate 500.
        Assert.Equal(25, status.Burst);
        Assert.Equal(500, status.Rate);
        // A new request waits for the pause, then goes.
        var e = engine.CompleteAsync(Request(id: "e"));
        await Task.Delay(200);
        Assert.Equal(0, backend.CallsFor("e"));
        Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(200);
        Assert.Equal(0, backend.CallsFor("e"));
        Advance(TimeSpan.FromSeconds(1.1));
        Assert.IsType<ChatSuccess>(await e.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Without_a_retry_after_the_overload_pause_is_the_cool_down_or_the_base_delay_if_shorter()
    {
        var backend = new ScriptedBackend((_, _) => TooMany(RequestTooMany));
        // One attempt each: a lone 429 without a retry-after retries within milliseconds (RetryPlan.LoneRetryDelay), and the
        // retries would tip the overload before the four are sent.
        var engine = Start(backend, "actor-throttle.defaults { adapt.cool-down = 10s, retry { base-delay = 20s, max-delay = 40s, max-attempts = 1 } }");
        await SendSpreadAsync(engine, backend, "a", "b", "c", "d");
        var start = _scheduler.Now;
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).PausedUntil is not null);
        Assert.Equal(start + TimeSpan.FromSeconds(10), (await StatusAsync(engine)).PausedUntil);
    }

    [Fact]
    public async Task A_429_of_an_attempt_sent_before_the_pause_changes_no_rate_but_extends_the_pause_to_its_retry_after()
    {
        var late = new TaskCompletionSource<BackendResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var backend = new ScriptedBackend((r, _, _) => r.RequestId switch
        {
            "late" => late.Task,
            "w" => Task.FromResult(ScriptedBackend.Success(r)),
            _ => Task.FromResult(TooMany(RequestTooMany, TimeSpan.FromSeconds(30))),
        });
        var engine = Start(backend, "actor-throttle.defaults { adapt.cool-down = 10s, retry.max-retry-after = 60s }");
        Assert.IsType<ChatSuccess>(await engine.CompleteAsync(Request(id: "w")));
        _ = engine.CompleteAsync(Request(id: "late"));
        await AwaitConditionAsync(() => Task.FromResult(backend.CallsFor("late") == 1));
        Advance(TimeSpan.FromMilliseconds(2));
        await SendSpreadAsync(engine, backend, "a", "b", "c", "d");
        var start = _scheduler.Now;
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).PausedUntil is not null);
        var paused = await StatusAsync(engine);
        Assert.Equal(start + TimeSpan.FromSeconds(30), paused.PausedUntil);
        Advance(TimeSpan.FromSeconds(5));
        // The provider reckoned this one later (in debt): it says 50 s. It was sent before the pause: an echo.
        late.SetResult(TooMany(RequestTooMany, TimeSpan.FromSeconds(50)));
        await AwaitConditionAsync(async () => (await StatusAsync(engine)).PausedUntil > paused.PausedUntil);
        var after = await StatusAsync(engine);
        Assert.Equal(start + TimeSpan.FromSeconds(55), after.PausedUntil);
        Assert.Equal(paused.Rate, after.Rate);
        Assert.Equal(paused.Burst, after.Burst);
    }

    [Fact]
    public async Task A_lone_request_refused_in_a_window_of_known_quota_retries_when_that_window_ends_at_the_latest()
    {
        // A drifting window of 3 a second (IETF draft 7): a, b and c took it; d, alone, is refused with a whole-second retry-after.
        var policy = new RateLimitInfo
        {
            Dialect = RateLimitDialect.IetfDraft7,
            LimitRequests = 3,
            RemainingRequests = 1,
            WindowRequests = TimeSpan.FromSeconds(1),
            Policies = [new RateLimitPolicy(null, 3, TimeSpan.FromSeconds(1))],
        };
        var backend = new ScriptedBackend((r, n) => r.RequestId == "d" && n == 1
            ? ScriptedBackend.RateLimited() with { RateLimits = policy with { RemainingRequests = 0, RetryAfter = TimeSpan.FromSeconds(1) } }
            : ScriptedBackend.Success(r) with { RateLimits = policy });
        var engine = Start(backend, "actor-throttle.defaults { requests-per-second = 1000 }");
        var start = _scheduler.Now;
        // Answered before d is sent, so the three hits are counted when d's 429 is (under load the order was not sure).
        var taken = new[] { "a", "b", "c" }.Select(id => engine.CompleteAsync(Request(id: id))).ToList();
        Assert.All(await Task.WhenAll(taken), r => Assert.IsType<ChatSuccess>(r));
        Advance(TimeSpan.FromMilliseconds(600));
        var d = engine.CompleteAsync(Request(id: "d"));
        await AwaitConditionAsync(() => Task.FromResult(backend.CallsFor("d") == 1));

        // The window that saw the last three hits (b, c, d) began by b's send at 0 ms, so it ends by 1,000 ms: the retry
        // goes then, not a second after d's 429 (1,600 ms).
        Advance(start + TimeSpan.FromMilliseconds(990) - _scheduler.Now);
        await Task.Delay(200);
        Assert.Equal(1, backend.CallsFor("d"));
        Advance(TimeSpan.FromMilliseconds(20));
        Assert.IsType<ChatSuccess>(await d.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, backend.CallsFor("d"));
    }
}
