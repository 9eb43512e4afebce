using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>
/// The API key never appears in a <see cref="BackendResponse"/> (its fields feed replies, log lines and exceptions),
/// even when the provider or a gateway echoes the Authorization header back in its error body.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class ApiKeyLeakTests : IAsyncLifetime
{
    private const string Key = BackendTestSettings.Key;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly OpenAIChatBackendFactory _factory = new();
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync()
    {
        _factory.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<BackendResponse> Send(Func<RecordedRequest, ScriptedResponse> script, TimeSpan? requestTimeout = null)
    {
        _server.Respond(script);
        var backend = _factory.Create(BackendTestSettings.For(_server.V1, requestTimeout));
        return await backend.SendAsync(new ChatRequest("gpt-test", [ChatMessage.User("hi")]), CancellationToken.None).WaitAsync(Bound);
    }

    private static void AssertNoKey(BackendResponse r)
    {
        foreach (var field in new[] { r.ToString(), r.Content, r.RawJson, r.ErrorCode, r.ErrorMessage, r.ModelUsed, r.FinishReason, r.RateLimits.ToString() })
        {
            Assert.DoesNotContain(Key, field ?? "");
            Assert.DoesNotContain("SECRET", field ?? "");
        }
    }

    [Theory]
    [InlineData(401, "invalid_api_key")]
    [InlineData(429, "rate_limit_exceeded")]
    [InlineData(429, "insufficient_quota")]
    [InlineData(500, "server_error")]
    [InlineData(503, null)]
    public async Task Plain_error_answers_never_carry_the_key(int status, string? code)
    {
        var r = await Send(_ => ScriptedResponse.Error(status, code, "Incorrect API key provided: sk-test-****-123."));

        Assert.Equal(Key, _server.Requests.Single().Header("Authorization")?["Bearer ".Length..]);
        Assert.Equal(status, r.StatusCode);
        AssertNoKey(r);
    }

    [Theory]
    [InlineData(401, OutcomeKind.Permanent)]
    [InlineData(403, OutcomeKind.Permanent)]
    [InlineData(429, OutcomeKind.RateLimited)]
    [InlineData(500, OutcomeKind.Transient)]
    [InlineData(502, OutcomeKind.Transient)]
    public async Task A_key_echoed_into_a_JSON_error_message_is_redacted(int status, OutcomeKind kind)
    {
        var r = await Send(seen => ScriptedResponse.Error(status, "echo", $"Rejected header Authorization: {seen.Header("Authorization")}"));

        Assert.Equal(kind, r.Kind);
        Assert.Equal($"Rejected header Authorization: Bearer {ChatResponseParser.Redacted}", r.ErrorMessage);
        AssertNoKey(r);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(429)]
    [InlineData(503)]
    public async Task A_key_echoed_into_a_plain_text_error_body_is_redacted(int status)
    {
        var r = await Send(seen => new ScriptedResponse(status, $"denied; you sent {seen.Header("Authorization")}") { ContentType = "text/plain" });

        Assert.Equal($"denied; you sent Bearer {ChatResponseParser.Redacted}", r.ErrorMessage);
        AssertNoKey(r);
    }

    [Fact]
    public async Task A_key_echoed_into_the_error_code_is_redacted()
    {
        var r = await Send(seen => ScriptedResponse.Error(401, seen.Header("Authorization"), "bad key"));

        Assert.Equal($"Bearer {ChatResponseParser.Redacted}", r.ErrorCode);
        AssertNoKey(r);
    }

    [Fact]
    public async Task A_key_echoed_where_the_message_is_truncated_leaks_no_part_of_itself()
    {
        var r = await Send(seen => new ScriptedResponse(500, new string('x', 490) + seen.Header("Authorization") + new string('y', 200)));

        AssertNoKey(r);
        Assert.DoesNotContain("sk-test", r.ErrorMessage);
    }

    [Fact]
    public async Task A_key_echoed_in_rate_limit_headers_does_not_surface()
    {
        var r = await Send(seen => ScriptedResponse.Error(429, "rate_limit_exceeded")
            .WithHeader("retry-after", seen.Header("Authorization")!)
            .WithHeader("x-ratelimit-reset-requests", Key));

        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Null(r.RateLimits.RetryAfter);
        AssertNoKey(r);
    }

    [Fact]
    public async Task Timeouts_and_resets_do_not_carry_the_key()
    {
        AssertNoKey(await Send(_ => ScriptedResponse.Completion() with { Delay = TimeSpan.FromSeconds(30) }, TimeSpan.FromMilliseconds(200)));
        AssertNoKey(await Send(_ => ScriptedResponse.AbortConnection()));
    }

    [Fact]
    public void Settings_and_routes_do_not_print_the_key()
    {
        var settings = BackendTestSettings.For(new Uri("http://127.0.0.1:1/v1"));
        Assert.DoesNotContain(Key, settings.ToString());
        Assert.DoesNotContain(Key, settings.Route.ToString());
    }
}
