using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

public sealed class ChatStreamAccumulatorTests
{
    private static readonly RateLimitInfo Limits = new() { RemainingRequests = 7 };

    internal static string Chunk(string? content = null, string? finish = null, string? role = null, string model = "gpt-x-2025", int index = 0)
    {
        var delta = new Dictionary<string, object?>();
        if (role is not null) delta["role"] = role;
        if (content is not null) delta["content"] = content;
        return System.Text.Json.JsonSerializer.Serialize(new
        {
            id = "chatcmpl-1",
            @object = "chat.completion.chunk",
            created = 1,
            model,
            choices = new[] { new { index, delta, logprobs = (object?)null, finish_reason = finish } },
            usage = (object?)null,
        });
    }

    internal const string UsageChunk = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-x-2025","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}""";

    [Fact]
    public void A_full_OpenAI_stream_yields_each_piece_then_a_success_with_text_finish_model_and_usage()
    {
        var stream = new ChatStreamAccumulator();
        Assert.Equal("", stream.Accept(Chunk(content: "", role: "assistant")));
        Assert.Equal("Hel", stream.Accept(Chunk(content: "Hel")));
        Assert.Equal("lo", stream.Accept(Chunk(content: "lo")));
        Assert.Equal("", stream.Accept(Chunk(finish: "length")));
        Assert.Equal("", stream.Accept(UsageChunk));
        Assert.False(stream.IsFinished);
        Assert.Equal("", stream.Accept("[DONE]"));
        Assert.True(stream.IsFinished);

        var r = stream.Complete(200, Limits);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal("Hello", r.Content);
        Assert.Equal("length", r.FinishReason);
        Assert.Equal("gpt-x-2025", r.ModelUsed);
        Assert.Equal(new TokenUsage(9, 4), r.Usage);
        Assert.Equal(200, r.StatusCode);
        Assert.Equal(7, r.RateLimits.RemainingRequests);
        Assert.Equal("", r.RawJson);
    }

    [Fact]
    public void A_stream_with_a_finish_reason_but_no_DONE_is_still_a_success()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(Chunk(content: "x", finish: "stop"));
        Assert.Equal(OutcomeKind.Success, stream.Complete(200, Limits).Kind);
    }

    [Fact]
    public void A_stream_that_stops_without_finish_or_DONE_is_a_transient_incomplete_stream()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(Chunk(content: "abc"));
        var r = stream.Complete(200, Limits);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("stream_incomplete", r.ErrorCode);
        Assert.Contains("3 characters", r.ErrorMessage);
    }

    [Theory]
    [InlineData("[DONE]")]
    [InlineData(" [DONE] ")]
    public void Nothing_after_DONE_counts(string done)
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(Chunk(content: "a"));
        stream.Accept(done);
        Assert.Equal("", stream.Accept(Chunk(content: "late")));
        Assert.Equal("a", stream.Complete(200, Limits).Content);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("42")]
    [InlineData("{\"choices\":\"nope\"}")]
    [InlineData("{\"choices\":[{\"delta\":{\"content\":5}}]}")]
    [InlineData("{\"choices\":[{\"delta\":\"x\"}]}")]
    [InlineData("{\"choices\":[7]}")]
    public void Malformed_or_empty_events_add_nothing_and_do_not_end_the_stream(string? data)
    {
        var stream = new ChatStreamAccumulator();
        Assert.Equal("", stream.Accept(data));
        Assert.False(stream.IsFinished);
        Assert.Equal("b", stream.Accept(Chunk(content: "b")));
    }

    [Fact]
    public void Only_the_first_choice_is_mapped()
    {
        var stream = new ChatStreamAccumulator();
        Assert.Equal("", stream.Accept(Chunk(content: "other", index: 1)));
        Assert.Equal("mine", stream.Accept(Chunk(content: "mine", index: 0)));
        stream.Accept(Chunk(finish: "stop", index: 1));
        Assert.Equal(OutcomeKind.Transient, stream.Complete(200, Limits).Kind);
    }

    [Theory]
    [InlineData("rate_limit_exceeded", "requests", OutcomeKind.RateLimited)]
    [InlineData(null, "rate_limit_error", OutcomeKind.RateLimited)]
    [InlineData("insufficient_quota", "insufficient_quota", OutcomeKind.QuotaExceeded)]
    [InlineData(null, "insufficient_quota", OutcomeKind.QuotaExceeded)]
    [InlineData(null, "server_error", OutcomeKind.Transient)]
    [InlineData(null, "overloaded_error", OutcomeKind.Transient)]
    [InlineData(null, null, OutcomeKind.Transient)]
    [InlineData("context_length_exceeded", "invalid_request_error", OutcomeKind.Permanent)]
    [InlineData(null, "invalid_request_error", OutcomeKind.Permanent)]
    [InlineData("invalid_api_key", null, OutcomeKind.Permanent)]
    [InlineData(null, "authentication_error", OutcomeKind.Permanent)]
    [InlineData(null, "permission_error", OutcomeKind.Permanent)]
    public void Errors_inside_a_stream_are_classified_like_their_HTTP_counterparts(string? code, string? type, OutcomeKind expected) =>
        Assert.Equal(expected, ChatStreamAccumulator.ClassifyStreamError(code, type));

    [Fact]
    public void An_error_event_ends_the_stream_with_its_classification_and_a_redacted_message()
    {
        const string secret = "sk-test-SECRET-123";
        var stream = new ChatStreamAccumulator(secret);
        stream.Accept(Chunk(content: "a"));
        stream.Accept("{\"error\":{\"message\":\"overloaded for key " + secret + "\",\"type\":\"server_error\",\"code\":null}}");
        Assert.True(stream.IsFinished);
        Assert.Equal("", stream.Accept(Chunk(content: "late")));
        var r = stream.Complete(200, Limits);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("stream_error", r.ErrorCode);
        Assert.DoesNotContain(secret, r.ErrorMessage);
        Assert.Contains("***", r.ErrorMessage);
        Assert.Equal(200, r.StatusCode);
    }

    [Fact]
    public void A_null_error_property_on_an_ordinary_chunk_is_not_an_error()
    {
        var stream = new ChatStreamAccumulator();
        Assert.Equal("Hi", stream.Accept("""{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"error":null}"""));
        Assert.False(stream.IsFinished);
        stream.Accept(Chunk(finish: "stop"));
        Assert.Equal("Hi", stream.Complete(200, Limits).Content);
    }

    [Fact]
    public void An_error_given_as_a_plain_string_ends_the_stream()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept("""{"error":"upstream overloaded"}""");
        Assert.True(stream.IsFinished);
        var r = stream.Complete(200, Limits);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Contains("upstream overloaded", r.ErrorMessage);
    }

    [Fact]
    public void Only_completion_chunks_count_as_chunks_read_and_the_finish_reason_is_reported()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept("{}");
        stream.Accept("not json");
        Assert.Equal(0, stream.ChunksRead);
        stream.Accept(Chunk(content: "a"));
        Assert.False(stream.HasFinishReason);
        stream.Accept(Chunk(finish: "stop"));
        stream.Accept(UsageChunk);
        Assert.Equal(3, stream.ChunksRead);
        Assert.True(stream.HasFinishReason);
    }
}
