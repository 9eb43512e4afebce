using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Reliability;

/// <summary>
/// Issue 5, item 5, the provider's side: replies that are not completions, and rate-limit headers that are unparseable
/// or absurd, end to end through the engine and the real backend. Each gets the right typed reply and the engine keeps
/// serving the next request. (The request and HOCON cases are in Messages/, Configuration/ and Engine/RequestLifecycleSpec.)
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class BadProviderReplySpec : IAsyncLifetime
{
    private ScriptedHttpServer _server = null!;
    private ActorSystem _system = null!;
    private ActorThrottleEngine _engine = null!;

    public async Task InitializeAsync()
    {
        _server = await ScriptedHttpServer.StartAsync();
        _server.Respond(request => Script(ModelOf(request.Body)));
        _system = ActorSystem.Create("bad-replies", "akka.loglevel = WARNING");
        _engine = ActorThrottleEngine.Start(_system, TestConfig.Settings($$"""
            actor-throttle {
              endpoint = "{{_server.V1}}"
              api-key = "sk-bad-replies"
              request-timeout = 2s
              defaults.retry { max-attempts = 3, base-delay = 1ms, max-delay = 5ms, max-retry-after = 300ms }
            }
            """), new ThrottleEnvironment { Logger = new LoggerConfiguration().CreateLogger(), RandomFor = _ => new Random(5) });
    }

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        await _server.DisposeAsync();
    }

    private static string ModelOf(string body)
    {
        var start = body.IndexOf("\"model\":\"", StringComparison.Ordinal) + 9;
        return body[start..body.IndexOf('"', start)];
    }

    private static ScriptedResponse Script(string model) => model switch
    {
        "not-json" => new ScriptedResponse(200, "<html>502 Bad Gateway</html>") { ContentType = "text/html" },
        "json-array" => new ScriptedResponse(200, "[1,2,3]"),
        "no-choices" => new ScriptedResponse(200, """{"id":"chatcmpl-1","object":"chat.completion","model":"x"}"""),
        "empty-choices" => new ScriptedResponse(200, """{"id":"chatcmpl-1","choices":[]}"""),
        "empty-200" => new ScriptedResponse(200, ""),
        "truncated-json" => new ScriptedResponse(200, """{"id":"chatcmpl-1","choices":[{"message":{"content":"hi"""),
        "error-not-json" => new ScriptedResponse(500, "upstream connect error or disconnect/reset before headers") { ContentType = "text/plain" },
        "bad-retry-after" => ScriptedResponse.Error(429, "rate_limit_exceeded", "slow down").WithHeader("retry-after", "soon-ish"),
        "day-retry-after" => ScriptedResponse.Error(429, "rate_limit_exceeded", "slow down").WithHeader("retry-after", "86400"),
        "huge-retry-after-ms" => ScriptedResponse.Error(429, "rate_limit_exceeded", "slow down").WithHeader("retry-after-ms", "1e300"),
        "negative-reset" => ScriptedResponse.Completion().WithHeader("x-ratelimit-remaining-requests", "0").WithHeader("x-ratelimit-reset-requests", "-5s"),
        "huge-reset" => ScriptedResponse.Completion().WithHeader("x-ratelimit-remaining-requests", "0").WithHeader("x-ratelimit-reset-requests", "999999h"),
        "garbage-reset" => ScriptedResponse.Completion().WithHeader("x-ratelimit-remaining-tokens", "0").WithHeader("x-ratelimit-reset-tokens", "NaNs"),
        "quota" => ScriptedResponse.Error(429, "insufficient_quota", "You exceeded your current quota"),
        _ => ScriptedResponse.Completion("fine"),
    };

    private async Task<ChatReply> Ask(string model) =>
        await _engine.CompleteAsync(new ChatRequest(model, [ChatMessage.User("hi")]) { RequestId = model + "-" + Guid.NewGuid().ToString("N")[..6] })
            .WaitAsync(TimeSpan.FromSeconds(15));

    private async Task AssertStillServing(string model)
    {
        // The same model and another one still answer.
        Assert.IsType<ChatSuccess>(await Ask("healthy"));
        var status = await _engine.GetStatusAsync(model);
        Assert.Equal(0, status.Pending);
    }

    [Theory]
    [InlineData("not-json")]
    [InlineData("json-array")]
    [InlineData("no-choices")]
    [InlineData("empty-choices")]
    [InlineData("empty-200")]
    [InlineData("truncated-json")]
    public async Task A_200_that_is_not_a_completion_is_answered_Permanent_after_one_attempt(string model)
    {
        var failure = Assert.IsType<ChatFailure>(await Ask(model));
        Assert.Equal(FailureReason.Permanent, failure.Reason);
        Assert.Equal(1, failure.Attempts);
        Assert.Equal(200, failure.StatusCode);
        Assert.Equal("invalid_response", failure.ProviderCode);
        await AssertStillServing(model);
    }

    [Fact]
    public async Task A_5xx_whose_body_is_not_JSON_is_retried_and_answered_Transient_with_the_text()
    {
        var failure = Assert.IsType<ChatFailure>(await Ask("error-not-json"));
        Assert.Equal(FailureReason.Transient, failure.Reason);
        Assert.Equal(3, failure.Attempts);
        Assert.Contains("upstream connect error", failure.Message);
        await AssertStillServing("error-not-json");
    }

    [Theory]
    [InlineData("bad-retry-after")]
    [InlineData("day-retry-after")]
    [InlineData("huge-retry-after-ms")]
    public async Task A_429_with_an_unparseable_or_absurd_retry_after_is_retried_within_the_cap_and_answered_RateLimitedExhausted(string model)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var failure = Assert.IsType<ChatFailure>(await Ask(model));
        Assert.Equal(FailureReason.RateLimitedExhausted, failure.Reason);
        Assert.Equal(3, failure.Attempts);
        // Two waits of at most max-retry-after (300 ms) each: a day is capped, not honoured.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        await AssertStillServing(model);
    }

    [Theory]
    [InlineData("negative-reset", false)]
    [InlineData("garbage-reset", false)]
    [InlineData("huge-reset", true)]
    public async Task Remaining_zero_with_a_negative_garbage_or_huge_reset_never_pauses_the_model_beyond_the_cap(string model, bool pauses)
    {
        Assert.IsType<ChatSuccess>(await Ask(model));
        var status = await _engine.GetStatusAsync(model);
        if (pauses)
        {
            Assert.NotNull(status.PausedUntil);
            Assert.True(status.PausedUntil <= DateTimeOffset.UtcNow.AddMilliseconds(300), $"paused until {status.PausedUntil:O}");
        }
        else
        {
            Assert.Null(status.PausedUntil);
        }
        // The next request of the same model gets through (after at most the capped pause).
        Assert.IsType<ChatSuccess>(await Ask(model));
        await AssertStillServing(model);
    }

    [Fact]
    public async Task Insufficient_quota_is_answered_Permanent_at_once_with_the_provider_code()
    {
        var failure = Assert.IsType<ChatFailure>(await Ask("quota"));
        Assert.Equal(FailureReason.Permanent, failure.Reason);
        Assert.Equal(1, failure.Attempts);
        Assert.Equal("insufficient_quota", failure.ProviderCode);
        await AssertStillServing("quota");
    }
}
