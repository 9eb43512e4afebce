using System.Diagnostics;
using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>
/// <see cref="OpenAIChatBackend"/> (made by <see cref="OpenAIChatBackendFactory"/>) against a real HTTP server on loopback:
/// every row of DESIGN.md's "what is retried" table, as the wire shows it.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class OpenAIChatBackendTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly OpenAIChatBackendFactory _factory = new(maxConnectionsPerServer: 8);
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync()
    {
        _factory.Dispose();
        await _server.DisposeAsync();
    }

    private IChatBackend Backend(TimeSpan? requestTimeout = null) =>
        _factory.Create(BackendTestSettings.For(_server.V1, requestTimeout));

    private static ChatRequest Request() =>
        new("gpt-test", [ChatMessage.System("Be brief."), ChatMessage.User("Say hello.")])
        {
            MaxTokens = 32,
            Temperature = 0.2,
            ExtraBody = """{"response_format":{"type":"json_object"},"seed":42,"model":"not-this-one"}""",
        };

    private async Task<BackendResponse> Send(ScriptedResponse answer, TimeSpan? requestTimeout = null)
    {
        _server.Respond(answer);
        return await Backend(requestTimeout).SendAsync(Request(), CancellationToken.None).WaitAsync(Bound);
    }

    [Fact]
    public async Task A_200_completion_maps_content_finish_reason_model_and_usage()
    {
        var answer = ScriptedResponse.Completion(content: "Hello \"you\"!", model: "gpt-test-2025-01-01", finishReason: "length",
            promptTokens: 21, completionTokens: 32);

        var r = await Send(answer);

        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal(200, r.StatusCode);
        Assert.Equal("Hello \"you\"!", r.Content);
        Assert.Equal("length", r.FinishReason);
        Assert.Equal("gpt-test-2025-01-01", r.ModelUsed);
        Assert.Equal(new TokenUsage(21, 32), r.Usage);
        Assert.Equal(answer.Body, r.RawJson);
        Assert.Null(r.ErrorCode);
        Assert.Null(r.ErrorMessage);
    }

    [Fact]
    public async Task The_request_is_a_POST_to_chat_completions_with_our_body_and_a_bearer_key()
    {
        await Send(ScriptedResponse.Completion());

        var seen = Assert.Single(_server.Requests);
        Assert.Equal("POST", seen.Method);
        Assert.Equal("/v1/chat/completions", seen.Path);
        Assert.Equal($"Bearer {BackendTestSettings.Key}", seen.Header("Authorization"));
        Assert.StartsWith("application/json", seen.Header("Content-Type"));
        using var body = JsonDocument.Parse(seen.Body);
        var root = body.RootElement;
        Assert.Equal("gpt-test", root.GetProperty("model").GetString());
        var messages = root.GetProperty("messages");
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("Say hello.", messages[1].GetProperty("content").GetString());
        Assert.Equal(32, root.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.2, root.GetProperty("temperature").GetDouble());
        Assert.Equal("json_object", root.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal(42, root.GetProperty("seed").GetInt32());
        Assert.False(root.TryGetProperty("stream", out _));
    }

    [Fact]
    public async Task A_model_marked_allow_unauthenticated_without_a_key_calls_its_endpoint_with_no_authorization_header()
    {
        _server.Respond(ScriptedResponse.Completion());
        var settings = BackendTestSettings.For(_server.V1, key: null);
        var backend = _factory.Create(settings with { Route = settings.Route with { AllowUnauthenticated = true } });

        var r = await backend.SendAsync(Request(), CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal(1, _server.RequestCount);
        Assert.Null(_server.Requests[0].Header("Authorization"));
    }

    [Fact]
    public void A_model_without_a_key_and_not_marked_unauthenticated_gets_no_backend_and_a_message_naming_the_keys_to_set()
    {
        var e = Assert.Throws<InvalidOperationException>(() => _factory.Create(BackendTestSettings.For(_server.V1, key: null)));
        Assert.Contains(_server.V1.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains("api-key-env", e.Message, StringComparison.Ordinal);
        Assert.Contains("allow-unauthenticated", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _server.RequestCount);
    }

    [Fact]
    public async Task A_429_rate_limit_exceeded_is_rate_limited_with_retry_after_ms()
    {
        var r = await Send(ScriptedResponse.Error(429, "rate_limit_exceeded", "Rate limit reached", type: "requests")
            .WithHeader("retry-after-ms", "1500")
            .WithHeader("retry-after", "2"));

        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Equal(429, r.StatusCode);
        Assert.Equal("rate_limit_exceeded", r.ErrorCode);
        Assert.Equal("Rate limit reached", r.ErrorMessage);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), r.RateLimits.RetryAfter);
    }

    [Fact]
    public async Task A_429_with_only_retry_after_is_rate_limited_with_that_wait()
    {
        var r = await Send(ScriptedResponse.Error(429, "rate_limit_exceeded").WithHeader("Retry-After", "3"));

        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Equal(TimeSpan.FromSeconds(3), r.RateLimits.RetryAfter);
    }

    [Fact]
    public async Task Rate_limit_headers_are_read_whatever_their_case_on_the_wire()
    {
        var r = await Send(ScriptedResponse.Error(429, "rate_limit_exceeded")
            .WithHeader("Retry-After-Ms", "250")
            .WithHeader("X-RateLimit-Remaining-Tokens", "0")
            .WithHeader("X-RateLimit-Reset-Tokens", "6m0s"));

        Assert.Equal(TimeSpan.FromMilliseconds(250), r.RateLimits.RetryAfter);
        Assert.Equal(0, r.RateLimits.RemainingTokens);
        Assert.Equal(TimeSpan.FromMinutes(6), r.RateLimits.ResetTokens);
    }

    [Theory]
    [InlineData("")]
    [InlineData("""{"error":{"message":"Too many requests","type":"requests","code":null}}""")]
    [InlineData("Too Many Requests")]
    public async Task A_429_without_a_code_is_rate_limited(string body)
    {
        var r = await Send(new ScriptedResponse(429, body) { ContentType = "text/plain" });

        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Equal(429, r.StatusCode);
        Assert.Null(r.ErrorCode);
        Assert.Null(r.RateLimits.RetryAfter);
    }

    [Fact]
    public async Task A_429_with_insufficient_quota_is_not_retried()
    {
        var r = await Send(ScriptedResponse.Error(429, "insufficient_quota", "You exceeded your current quota")
            .WithHeader("retry-after", "1"));

        Assert.Equal(OutcomeKind.QuotaExceeded, r.Kind);
        Assert.Equal(429, r.StatusCode);
        Assert.Equal("insufficient_quota", r.ErrorCode);
        Assert.Equal(1, _server.RequestCount);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(408)]
    [InlineData(529)]
    public async Task Server_errors_are_transient(int status)
    {
        var r = await Send(ScriptedResponse.Error(status, "server_error", "The server had an error"));

        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal(status, r.StatusCode);
        Assert.Equal("server_error", r.ErrorCode);
        Assert.Equal("The server had an error", r.ErrorMessage);
    }

    [Fact]
    public async Task A_gateway_HTML_error_page_is_transient_with_a_truncated_message()
    {
        var html = "<html><head><title>502 Bad Gateway</title></head><body>" + new string('.', 3000) + "</body></html>";
        var r = await Send(new ScriptedResponse(502, html) { ContentType = "text/html" });

        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal(502, r.StatusCode);
        Assert.StartsWith("<html><head><title>502 Bad Gateway", r.ErrorMessage);
        Assert.True(r.ErrorMessage!.Length <= 501);
    }

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(400, "context_length_exceeded")]
    [InlineData(401, "invalid_api_key")]
    [InlineData(403, "unsupported_country_region_territory")]
    [InlineData(404, "model_not_found")]
    [InlineData(409, null)]
    [InlineData(422, null)]
    [InlineData(501, null)]
    public async Task Client_errors_are_permanent(int status, string? code)
    {
        var r = await Send(ScriptedResponse.Error(status, code, "no"));

        Assert.Equal(OutcomeKind.Permanent, r.Kind);
        Assert.Equal(status, r.StatusCode);
        Assert.Equal(code, r.ErrorCode);
        Assert.Equal(1, _server.RequestCount);
    }

    [Fact]
    public async Task A_200_that_is_not_a_completion_is_permanent()
    {
        var r = await Send(new ScriptedResponse(200, """{"error":{"message":"upstream said no","code":"oops"}}"""));

        Assert.Equal(OutcomeKind.Permanent, r.Kind);
        Assert.Equal(200, r.StatusCode);
        Assert.Equal("invalid_response", r.ErrorCode);
    }

    [Fact]
    public async Task Remaining_requests_zero_with_reset_1s_on_a_success_is_parsed_and_pauses_the_model()
    {
        var r = await Send(ScriptedResponse.Completion()
            .WithHeader("x-ratelimit-limit-requests", "60")
            .WithHeader("x-ratelimit-remaining-requests", "0")
            .WithHeader("x-ratelimit-reset-requests", "1s")
            .WithHeader("x-ratelimit-remaining-tokens", "149000")
            .WithHeader("x-ratelimit-reset-tokens", "20ms"));

        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal(0, r.RateLimits.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(1), r.RateLimits.ResetRequests);
        Assert.Equal(149_000, r.RateLimits.RemainingTokens);
        Assert.Equal(TimeSpan.FromMilliseconds(20), r.RateLimits.ResetTokens);
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(60, r.RateLimits.LimitRequests);
        // The bucket is full again in 1 s; one request of 60 is back after 1/60 s.
        Assert.Equal(now + TimeSpan.FromTicks((long)Math.Ceiling(TimeSpan.TicksPerSecond / 60.0)), RateLimitPause.Until(r.RateLimits, now, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task An_answer_slower_than_the_request_timeout_is_a_transient_timeout()
    {
        var clock = Stopwatch.StartNew();
        var r = await Send(ScriptedResponse.Completion() with { Delay = TimeSpan.FromSeconds(30) },
            requestTimeout: TimeSpan.FromMilliseconds(200));
        clock.Stop();

        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("timeout", r.ErrorCode);
        Assert.Null(r.StatusCode);
        Assert.Contains("200 ms", r.ErrorMessage);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(1, _server.RequestCount);
    }

    [Fact]
    public async Task A_connection_reset_is_a_transient_connection_error()
    {
        var r = await Send(ScriptedResponse.AbortConnection());

        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("connection_error", r.ErrorCode);
        Assert.Null(r.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(r.ErrorMessage));
        Assert.Equal(1, _server.RequestCount);
    }

    [Fact]
    public async Task A_refused_connection_is_a_transient_connection_error()
    {
        var port = ScriptedHttpServer.ClosedPort();
        var backend = _factory.Create(BackendTestSettings.For(new Uri($"http://127.0.0.1:{port}/v1")));

        var r = await backend.SendAsync(Request(), CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("connection_error", r.ErrorCode);
        Assert.Null(r.StatusCode);
        Assert.DoesNotContain(BackendTestSettings.Key, r.ToString());
    }

    [Theory]
    [InlineData(429, "rate_limit_exceeded", null)]
    [InlineData(429, "rate_limit_exceeded", "0")]
    [InlineData(429, null, "1")]
    [InlineData(503, null, null)]
    [InlineData(503, null, "0")]
    [InlineData(500, "server_error", null)]
    [InlineData(502, null, null)]
    [InlineData(504, null, null)]
    [InlineData(408, null, null)]
    public async Task The_SDK_does_not_retry_by_itself(int status, string? code, string? retryAfter)
    {
        var answer = ScriptedResponse.Error(status, code);
        if (retryAfter is not null)
        {
            answer = answer.WithHeader("retry-after", retryAfter).WithHeader("retry-after-ms", retryAfter);
        }

        var r = await Send(answer);

        Assert.Equal(status, r.StatusCode);
        Assert.Equal(1, _server.RequestCount);
    }

    [Fact]
    public async Task The_SDK_does_not_retry_a_timeout_or_a_reset_by_itself()
    {
        var backend = Backend(TimeSpan.FromMilliseconds(200));
        _server.Respond(ScriptedResponse.Completion() with { Delay = TimeSpan.FromSeconds(30) });
        await backend.SendAsync(Request(), CancellationToken.None).WaitAsync(Bound);
        _server.Respond(ScriptedResponse.AbortConnection());
        await backend.SendAsync(Request(), CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(2, _server.RequestCount);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_surfaces_as_OperationCanceledException()
    {
        _server.Respond(ScriptedResponse.Completion() with { Delay = TimeSpan.FromSeconds(30) });
        var arrived = _server.NextRequest();
        using var cts = new CancellationTokenSource();

        var call = Backend(TimeSpan.FromSeconds(30)).SendAsync(Request(), cts.Token);
        await arrived.WaitAsync(Bound);
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Bound));
    }

    [Fact]
    public async Task An_already_cancelled_call_surfaces_as_OperationCanceledException()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Backend().SendAsync(Request(), cts.Token).WaitAsync(Bound));
    }

    [Fact]
    public async Task Backends_of_one_factory_share_a_bounded_connection_pool()
    {
        using var factory = new OpenAIChatBackendFactory(maxConnectionsPerServer: 2);
        var backend = factory.Create(BackendTestSettings.For(_server.V1));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = 0;
        _server.Handle(async (context, _) =>
        {
            // Hold the first two calls until both connections are in use, so the other calls must queue for them.
            if (Interlocked.Increment(ref arrived) >= 2)
            {
                release.TrySetResult();
            }
            await release.Task.WaitAsync(Bound);
            await ScriptedHttpServer.Write(context, ScriptedResponse.Completion());
        });

        var calls = Enumerable.Range(0, 6).Select(_ => backend.SendAsync(Request(), CancellationToken.None)).ToArray();
        var results = await Task.WhenAll(calls).WaitAsync(Bound);

        Assert.All(results, r => Assert.Equal(OutcomeKind.Success, r.Kind));
        Assert.Equal(6, _server.RequestCount);
        Assert.InRange(_server.Requests.Select(r => r.ConnectionId).Distinct().Count(), 1, 2);
    }
}
