using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

public sealed class ChatResponseParserTests
{
    internal const string SuccessBody = """
        {
          "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
          "object": "chat.completion",
          "created": 1741569952,
          "model": "gpt-4.1-2025-04-14",
          "choices": [
            {
              "index": 0,
              "message": { "role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": [] },
              "logprobs": null,
              "finish_reason": "stop"
            }
          ],
          "usage": {
            "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
            "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 }
          },
          "service_tier": "default"
        }
        """;

    private static readonly RateLimitInfo Limits = new() { RemainingRequests = 3 };

    [Fact]
    public void A_realistic_success_body_maps_content_finish_reason_model_usage_and_raw_json()
    {
        var r = ChatResponseParser.Parse(200, SuccessBody, Limits);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal(200, r.StatusCode);
        Assert.Equal("Hello! How can I assist you today?", r.Content);
        Assert.Equal("stop", r.FinishReason);
        Assert.Equal("gpt-4.1-2025-04-14", r.ModelUsed);
        Assert.Equal(new TokenUsage(19, 10), r.Usage);
        Assert.Equal(SuccessBody, r.RawJson);
        Assert.Same(Limits, r.RateLimits);
        Assert.Null(r.ErrorCode);
        Assert.Null(r.ErrorMessage);
    }

    [Fact]
    public void A_tool_call_answer_with_null_content_is_still_a_success()
    {
        const string body = """
            {"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,
             "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}
            """;
        var r = ChatResponseParser.Parse(200, body, RateLimitInfo.None);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Null(r.Content);
        Assert.Equal("tool_calls", r.FinishReason);
        Assert.Null(r.Usage);
        Assert.Equal(body, r.RawJson);
    }

    [Theory]
    [InlineData("<html>502 Bad Gateway</html>", "not JSON")]
    [InlineData("[1,2,3]", "not an object")]
    [InlineData("{\"id\":\"x\",\"object\":\"chat.completion\"}", "'choices'")]
    [InlineData("{\"choices\":[]}", "'choices'")]
    [InlineData("{\"choices\":{}}", "'choices'")]
    [InlineData("", "empty body")]
    [InlineData("   ", "empty body")]
    public void A_2xx_that_is_not_a_completion_is_a_permanent_invalid_response(string body, string why)
    {
        var r = ChatResponseParser.Parse(200, body, Limits);
        Assert.Equal(OutcomeKind.Permanent, r.Kind);
        Assert.Equal(200, r.StatusCode);
        Assert.Equal("invalid_response", r.ErrorCode);
        Assert.Contains(why, r.ErrorMessage);
        Assert.Null(r.Content);
        Assert.Null(r.RawJson);
        Assert.Same(Limits, r.RateLimits);
    }

    [Fact]
    public void An_OpenAI_rate_limit_error_body_gives_code_and_message()
    {
        const string body = """
            {"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.",
             "type":"requests","param":null,"code":"rate_limit_exceeded"}}
            """;
        var r = ChatResponseParser.Parse(429, body, Limits);
        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Equal(429, r.StatusCode);
        Assert.Equal("rate_limit_exceeded", r.ErrorCode);
        Assert.StartsWith("Rate limit reached", r.ErrorMessage);
        Assert.Same(Limits, r.RateLimits);
    }

    [Fact]
    public void A_429_with_code_insufficient_quota_is_quota_exceeded()
    {
        const string body = """
            {"error":{"message":"You exceeded your current quota, please check your plan and billing details.",
             "type":"insufficient_quota","param":null,"code":"insufficient_quota"}}
            """;
        var r = ChatResponseParser.Parse(429, body, Limits);
        Assert.Equal(OutcomeKind.QuotaExceeded, r.Kind);
        Assert.Equal("insufficient_quota", r.ErrorCode);
    }

    [Fact]
    public void A_429_with_only_type_insufficient_quota_is_quota_exceeded()
    {
        const string body = """{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":null}}""";
        var r = ChatResponseParser.Parse(429, body, Limits);
        Assert.Equal(OutcomeKind.QuotaExceeded, r.Kind);
        Assert.Equal("insufficient_quota", r.ErrorCode);
    }

    [Fact]
    public void A_429_with_another_type_and_no_code_is_rate_limited_without_a_code()
    {
        var r = ChatResponseParser.Parse(429, """{"error":{"message":"slow down","type":"tokens","code":null}}""", Limits);
        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Null(r.ErrorCode);
        Assert.Equal("slow down", r.ErrorMessage);
    }

    [Fact]
    public void Context_length_exceeded_is_permanent()
    {
        const string body = """
            {"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error",
             "param":"messages","code":"context_length_exceeded"}}
            """;
        var r = ChatResponseParser.Parse(400, body, Limits);
        Assert.Equal(OutcomeKind.Permanent, r.Kind);
        Assert.Equal("context_length_exceeded", r.ErrorCode);
    }

    [Fact]
    public void An_error_given_as_a_string_is_the_message()
    {
        var r = ChatResponseParser.Parse(503, """{"error":"upstream overloaded"}""", Limits);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Null(r.ErrorCode);
        Assert.Equal("upstream overloaded", r.ErrorMessage);
    }

    [Fact]
    public void A_vLLM_style_top_level_error_message_is_read()
    {
        var r = ChatResponseParser.Parse(400,
            """{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}""", Limits);
        Assert.Equal(OutcomeKind.Permanent, r.Kind);
        Assert.Equal("The model `x` does not exist.", r.ErrorMessage);
        Assert.Null(r.ErrorCode);
    }

    [Fact]
    public void A_FastAPI_style_detail_is_read() =>
        Assert.Equal("Not Found", ChatResponseParser.Parse(404, """{"detail":"Not Found"}""", Limits).ErrorMessage);

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("{\"error\":{}}")]
    [InlineData("{\"error\":42}")]
    [InlineData("null")]
    public void An_error_without_a_message_says_the_status(string body)
    {
        var r = ChatResponseParser.Parse(502, body, Limits);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("HTTP 502", r.ErrorMessage);
        Assert.Null(r.ErrorCode);
    }

    [Fact]
    public void A_non_JSON_error_body_is_the_message_truncated()
    {
        var html = "<html><body>" + new string('x', 2000) + "</body></html>";
        var r = ChatResponseParser.Parse(502, html, Limits);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal(501, r.ErrorMessage!.Length);
        Assert.StartsWith("<html><body>xxx", r.ErrorMessage);
        Assert.EndsWith("…", r.ErrorMessage);
    }

    [Fact]
    public void A_long_JSON_error_message_is_truncated()
    {
        var r = ChatResponseParser.Parse(400, "{\"error\":{\"message\":\"" + new string('m', 900) + "\",\"code\":\"bad\"}}", Limits);
        Assert.Equal(501, r.ErrorMessage!.Length);
        Assert.Equal("bad", r.ErrorCode);
    }

    [Fact]
    public void Truncation_never_splits_a_surrogate_pair()
    {
        var body = new string('a', 499) + "😀" + new string('b', 100);
        var message = ChatResponseParser.Parse(500, body, Limits).ErrorMessage!;
        Assert.Equal(new string('a', 499) + "…", message);
    }

    [Fact]
    public void A_short_non_JSON_error_body_is_kept_whole() =>
        Assert.Equal("Bad Gateway", ChatResponseParser.Parse(502, "Bad Gateway", Limits).ErrorMessage);

    [Theory]
    [InlineData("""{"error":{"message":"Incorrect API key provided: Bearer sk-test-SECRET-123.","code":"invalid_api_key"}}""")]
    [InlineData("""{"error":{"message":"Incorrect API key provided: Bearer sk-test-SECRET-123.","code":"sk-test-SECRET-123"}}""")]
    [InlineData("""{"error":"Authorization: Bearer sk-test-SECRET-123 rejected"}""")]
    [InlineData("""{"message":"bad key sk-test-SECRET-123"}""")]
    [InlineData("""{"error":{"message":"bad key sk\u002dtest\u002dSECRET\u002d123"}}""")]
    [InlineData("Unauthorized: Authorization: Bearer sk-test-SECRET-123")]
    public void The_configured_key_is_redacted_from_error_fields(string body)
    {
        var r = ChatResponseParser.Parse(401, body, Limits, BackendTestSettings.Key);
        Assert.DoesNotContain(BackendTestSettings.Key, r.ToString());
        Assert.Contains(ChatResponseParser.Redacted, (r.ErrorMessage ?? "") + (r.ErrorCode ?? ""));
    }

    [Fact]
    public void A_key_echoed_across_the_truncation_boundary_leaks_no_part_of_itself()
    {
        var body = new string('x', 495) + "Bearer " + BackendTestSettings.Key + new string('y', 100);
        var r = ChatResponseParser.Parse(500, body, Limits, BackendTestSettings.Key);
        Assert.DoesNotContain("sk-test", r.ErrorMessage);
        Assert.DoesNotContain("SECRET", r.ErrorMessage);
    }

    [Fact]
    public void Without_a_secret_nothing_is_redacted() =>
        Assert.Equal("bad key sk-test-SECRET-123",
            ChatResponseParser.Parse(401, """{"error":{"message":"bad key sk-test-SECRET-123"}}""", Limits).ErrorMessage);
}
