using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>Tools, tool choice, assistant tool calls and tool results in the <c>/chat/completions</c> body, in OpenAI's shapes.</summary>
public sealed class ToolCallBodyTests
{
    private const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""";

    private static JsonElement Write(ChatRequest request) =>
        JsonDocument.Parse(ChatRequestBody.Write(request)).RootElement.Clone();

    private static ChatRequest Conversation() => new("gpt-4o-mini",
    [
        ChatMessage.User("Weather in Paris and Oslo?"),
        ChatMessage.Assistant([new ToolCall("call_1", "get_weather", """{"city":"Paris"}"""), new ToolCall("call_2", "get_weather", """{"city":"Oslo"}""")]),
        ChatMessage.Tool("call_1", "18°C, sunny"),
        ChatMessage.Tool("call_2", """{"temp":-3,"sky":"snow"}"""),
    ]);

    [Fact]
    public void An_assistant_message_with_tool_calls_is_written_with_null_content_and_function_tool_calls()
    {
        var assistant = Write(Conversation()).GetProperty("messages")[1];

        Assert.Equal(["role", "content", "tool_calls"], assistant.EnumerateObject().Select(p => p.Name));
        Assert.Equal("assistant", assistant.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, assistant.GetProperty("content").ValueKind);
        var calls = assistant.GetProperty("tool_calls").EnumerateArray().ToArray();
        Assert.Equal(2, calls.Length);
        Assert.Equal(["id", "type", "function"], calls[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("call_1", calls[0].GetProperty("id").GetString());
        Assert.Equal("function", calls[0].GetProperty("type").GetString());
        Assert.Equal(["name", "arguments"], calls[0].GetProperty("function").EnumerateObject().Select(p => p.Name));
        Assert.Equal("get_weather", calls[0].GetProperty("function").GetProperty("name").GetString());
        // The arguments travel as a JSON text inside a string, as OpenAI sends and expects them.
        Assert.Equal(JsonValueKind.String, calls[0].GetProperty("function").GetProperty("arguments").ValueKind);
        Assert.Equal("""{"city":"Paris"}""", calls[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("call_2", calls[1].GetProperty("id").GetString());
        Assert.Equal("""{"city":"Oslo"}""", calls[1].GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public void An_assistant_message_with_text_and_tool_calls_keeps_both()
    {
        var request = new ChatRequest("m", [ChatMessage.User("hi"), ChatMessage.Assistant([new ToolCall("c", "f", "{}")], "Let me check.")]);
        var assistant = Write(request).GetProperty("messages")[1];
        Assert.Equal("Let me check.", assistant.GetProperty("content").GetString());
        Assert.Equal("c", assistant.GetProperty("tool_calls")[0].GetProperty("id").GetString());
    }

    [Fact]
    public void A_tool_message_carries_its_tool_call_id_and_content()
    {
        var messages = Write(Conversation()).GetProperty("messages");
        var first = messages[2];
        Assert.Equal(["role", "content", "tool_call_id"], first.EnumerateObject().Select(p => p.Name));
        Assert.Equal("tool", first.GetProperty("role").GetString());
        Assert.Equal("18°C, sunny", first.GetProperty("content").GetString());
        Assert.Equal("call_1", first.GetProperty("tool_call_id").GetString());
        Assert.Equal("""{"temp":-3,"sky":"snow"}""", messages[3].GetProperty("content").GetString());
        Assert.Equal("call_2", messages[3].GetProperty("tool_call_id").GetString());
    }

    [Fact]
    public void Messages_without_tool_fields_keep_their_two_properties()
    {
        var user = Write(Conversation()).GetProperty("messages")[0];
        Assert.Equal(["role", "content"], user.EnumerateObject().Select(p => p.Name));
        // A tool call id on another role is not OpenAI's format: it is not sent.
        var stray = Write(new ChatRequest("m", [ChatMessage.User("x") with { ToolCallId = "c" }])).GetProperty("messages")[0];
        Assert.Equal(["role", "content"], stray.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Tools_are_written_as_function_tools_with_their_schema_verbatim()
    {
        var json = Write(Conversation() with
        {
            Tools = [new ToolDefinition("get_weather", "Current weather of a city", WeatherSchema), new ToolDefinition("now")],
        });

        var tools = json.GetProperty("tools").EnumerateArray().ToArray();
        Assert.Equal(2, tools.Length);
        Assert.Equal(["type", "function"], tools[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("function", tools[0].GetProperty("type").GetString());
        var function = tools[0].GetProperty("function");
        Assert.Equal(["name", "description", "parameters"], function.EnumerateObject().Select(p => p.Name));
        Assert.Equal("get_weather", function.GetProperty("name").GetString());
        Assert.Equal("Current weather of a city", function.GetProperty("description").GetString());
        Assert.Equal(WeatherSchema, function.GetProperty("parameters").GetRawText());
        // Description and parameters are optional in OpenAI's format: left out when not given.
        Assert.Equal(["name"], tools[1].GetProperty("function").EnumerateObject().Select(p => p.Name));
        Assert.False(json.TryGetProperty("tool_choice", out _));
    }

    [Fact]
    public void A_schema_with_whitespace_is_sent_as_given_so_both_sides_count_the_same_tokens()
    {
        const string pretty = "{\n  \"type\": \"object\",\n  \"properties\": {}\n}";
        var body = System.Text.Encoding.UTF8.GetString(ChatRequestBody.Write(new ChatRequest("m", [ChatMessage.User("x")]) { Tools = [new ToolDefinition("f", null, pretty)] }));
        Assert.Contains("\"parameters\":" + pretty, body);
    }

    public static TheoryData<string, ToolChoice, string> Choices() => new()
    {
        { "auto", ToolChoice.Auto, "\"auto\"" },
        { "none", ToolChoice.None, "\"none\"" },
        { "required", ToolChoice.Required, "\"required\"" },
        { "function", ToolChoice.Function("get_weather"), """{"type":"function","function":{"name":"get_weather"}}""" },
    };

    [Theory]
    [MemberData(nameof(Choices))]
    public void Tool_choice_is_written_in_openai_form(string _, ToolChoice choice, string expected)
    {
        var json = Write(Conversation() with { Tools = [new ToolDefinition("get_weather", null, WeatherSchema)], ToolChoice = choice });
        Assert.Equal(expected, json.GetProperty("tool_choice").GetRawText());
    }

    [Fact]
    public void Typed_tools_and_choice_win_over_ExtraBody_and_other_ExtraBody_keys_still_pass()
    {
        var json = Write(Conversation() with
        {
            Tools = [new ToolDefinition("typed")],
            ToolChoice = ToolChoice.Required,
            ExtraBody = """{"tools":[{"type":"function","function":{"name":"extra"}}],"tool_choice":"none","parallel_tool_calls":false}""",
        });
        Assert.Equal("typed", Assert.Single(json.GetProperty("tools").EnumerateArray()).GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("required", json.GetProperty("tool_choice").GetString());
        Assert.Single(json.EnumerateObject(), p => p.Name == "tools");
        Assert.Single(json.EnumerateObject(), p => p.Name == "tool_choice");
        Assert.False(json.GetProperty("parallel_tool_calls").GetBoolean());
    }

    [Fact]
    public void Without_typed_tools_ExtraBody_may_carry_tools_and_tool_choice()
    {
        var json = Write(Conversation() with { ExtraBody = """{"tools":[{"type":"function","function":{"name":"extra"}}],"tool_choice":"auto"}""" });
        Assert.Equal("extra", json.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("auto", json.GetProperty("tool_choice").GetString());
    }

    [Fact]
    public void Streaming_bodies_carry_the_same_tool_fields()
    {
        var request = Conversation() with { Tools = [new ToolDefinition("get_weather", null, WeatherSchema)], ToolChoice = ToolChoice.Auto };
        var json = JsonDocument.Parse(ChatRequestBody.Write(request, stream: true)).RootElement;
        Assert.True(json.GetProperty("stream").GetBoolean());
        Assert.Equal("get_weather", json.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("call_2", json.GetProperty("messages")[3].GetProperty("tool_call_id").GetString());
    }
}
