using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>Tool calls in a completion body: the parser's <see cref="BackendResponse.ToolCalls"/> and <see cref="ChatSuccess.ToolCalls"/>.</summary>
public sealed class ToolCallParsingTests
{
    internal const string ToolCallBody = """
        {
          "id": "chatcmpl-abc123",
          "object": "chat.completion",
          "created": 1741570283,
          "model": "gpt-4.1-2025-04-14",
          "choices": [
            {
              "index": 0,
              "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [
                  { "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function",
                    "function": { "name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}" } },
                  { "id": "call_2", "type": "function", "function": { "name": "get_time", "arguments": "{}" } }
                ],
                "refusal": null,
                "annotations": []
              },
              "logprobs": null,
              "finish_reason": "tool_calls"
            }
          ],
          "usage": { "prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99 }
        }
        """;

    private static readonly ToolCall[] Expected =
    [
        new("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", """{"location":"Paris, France"}"""),
        new("call_2", "get_time", "{}"),
    ];

    [Fact]
    public void A_tool_call_answer_maps_its_calls_in_order_with_no_content_and_finish_reason_tool_calls()
    {
        var r = ChatResponseParser.Parse(200, ToolCallBody, RateLimitInfo.None);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Null(r.Content);
        Assert.Equal("tool_calls", r.FinishReason);
        Assert.Equal(Expected, r.ToolCalls);
        Assert.Equal(new TokenUsage(82, 17), r.Usage);
    }

    [Fact]
    public void A_text_answer_has_no_tool_calls()
    {
        Assert.Null(ChatResponseParser.Parse(200, ChatResponseParserTests.SuccessBody, RateLimitInfo.None).ToolCalls);
        Assert.Null(ChatResponseParser.Parse(200, """{"choices":[{"message":{"content":"x","tool_calls":[]}}]}""", RateLimitInfo.None).ToolCalls);
        Assert.Null(ChatResponseParser.Parse(200, """{"choices":[{"message":{"content":"x","tool_calls":null}}]}""", RateLimitInfo.None).ToolCalls);
    }

    public static TheoryData<string, string, ToolCall[]?> Tolerated() => new()
    {
        { "arguments as a JSON object", """{"id":"c","type":"function","function":{"name":"f","arguments":{"a":1}}}""", [new("c", "f", """{"a":1}""")] },
        { "no type", """{"id":"c","function":{"name":"f","arguments":"{}"}}""", [new("c", "f", "{}")] },
        { "no arguments", """{"id":"c","type":"function","function":{"name":"f"}}""", [new("c", "f", "")] },
        { "null arguments", """{"id":"c","type":"function","function":{"name":"f","arguments":null}}""", [new("c", "f", "")] },
        { "no id", """{"type":"function","function":{"name":"f","arguments":"{}"}}""", [new("", "f", "{}")] },
        { "a custom tool is skipped", """{"id":"c","type":"custom","custom":{"name":"g","input":"x"}}""", null },
        { "a nameless call is skipped", """{"id":"c","type":"function","function":{"arguments":"{}"}}""", null },
        { "not an object", "42", null },
    };

    [Theory]
    [MemberData(nameof(Tolerated))]
    public void Odd_tool_calls_from_compatible_servers_are_tolerated(string _, string call, ToolCall[]? expected)
    {
        var body = """{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[""" + call + """]},"finish_reason":"tool_calls"}]}""";
        var r = ChatResponseParser.Parse(200, body, RateLimitInfo.None);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal(expected, r.ToolCalls);
    }

    [Fact]
    public void Only_the_first_choice_is_read()
    {
        const string body = """
            {"choices":[{"index":0,"message":{"content":"text"}},
                        {"index":1,"message":{"content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}
            """;
        Assert.Null(ChatResponseParser.Parse(200, body, RateLimitInfo.None).ToolCalls);
    }

    [Fact]
    public void A_success_carries_the_tool_calls_it_is_given_and_none_by_default()
    {
        // Existing constructions compile and mean "no tool calls"; the body is not parsed again (the backend did).
        Assert.Null(new ChatSuccess("r", "m", "hi", "stop", null, 1, TimeSpan.Zero, """{"id":"x"}""").ToolCalls);
        Assert.Null(new ChatSuccess("r", "m", "hi", "stop", null, 1, TimeSpan.Zero, "").ToolCalls);
        Assert.Null(new ChatSuccess("r", "m", null, "tool_calls", null, 1, TimeSpan.Zero, ToolCallBody).ToolCalls);

        var given = new ChatSuccess("r", "m", null, "tool_calls", null, 1, TimeSpan.Zero, "") { ToolCalls = [new ToolCall("c", "f", "{}")] };
        Assert.Equal([new ToolCall("c", "f", "{}")], given.ToolCalls);
    }

    [Fact]
    public void Successes_compare_their_tool_calls_by_content()
    {
        ChatSuccess Parsed() => new("r", "m", null, "tool_calls", null, 1, TimeSpan.Zero, ToolCallBody)
        {
            ToolCalls = ChatResponseParser.Parse(200, ToolCallBody, RateLimitInfo.None).ToolCalls,
        };
        var a = Parsed();
        var b = Parsed();
        Assert.NotSame(a.ToolCalls, b.ToolCalls);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { ToolCalls = [Expected[0]] });
        Assert.Equal(a with { ToolCalls = [] }, a with { ToolCalls = null });
    }
}
