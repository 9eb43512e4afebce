using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Messages;

/// <summary><see cref="ChatRequestValidator"/> on tool calls, tool results, tools and tool choice.</summary>
public sealed class ToolCallValidatorTests
{
    private static readonly ToolCall Call = new("call_1", "get_weather", """{"city":"Paris"}""");

    private static ChatRequest Valid() => new("gpt-4o-mini",
    [
        ChatMessage.User("Weather in Paris?"),
        ChatMessage.Assistant([Call]),
        ChatMessage.Tool("call_1", "18°C"),
    ])
    {
        Tools = [new ToolDefinition("get_weather", "Weather of a city", """{"type":"object","properties":{"city":{"type":"string"}}}""")],
        ToolChoice = ToolChoice.Auto,
    };

    private static ChatRequest WithAssistant(params ToolCall?[] calls) => Valid() with
    {
        Messages = [ChatMessage.User("u"), ChatMessage.System("s"), new ChatMessage("assistant", null) { ToolCalls = calls! }, ChatMessage.Tool("call_1", "r")],
    };

    [Fact]
    public void A_tool_calling_conversation_is_valid()
    {
        Assert.Null(ChatRequestValidator.Validate(Valid()));
        Assert.Null(ChatRequestValidator.Validate(Valid() with { ToolChoice = ToolChoice.Function("get_weather") }));
        Assert.Null(ChatRequestValidator.Validate(Valid() with { ToolChoice = ToolChoice.None }));
        Assert.Null(ChatRequestValidator.Validate(Valid() with { ToolChoice = null, Tools = null }));
        Assert.Null(ChatRequestValidator.Validate(Valid() with { Tools = [new ToolDefinition("now")] , ToolChoice = ToolChoice.Required }));
        // Text beside the calls, arguments that are any JSON value.
        Assert.Null(ChatRequestValidator.Validate(WithAssistant(new ToolCall("c", "f", "[1, 2]"), new ToolCall("d", "g", " {} "))));
        Assert.Null(ChatRequestValidator.Validate(Valid() with { Messages = [ChatMessage.User("u"), ChatMessage.Assistant([Call], "Checking.")] }));
        // An empty result is a result.
        Assert.Null(ChatRequestValidator.Validate(Valid() with { Messages = [ChatMessage.User("u"), ChatMessage.Assistant([Call]), ChatMessage.Tool("call_1", "")] }));
    }

    public static TheoryData<string, ChatRequest, string> Invalid() => new()
    {
        { "tool message without id", Valid() with { Messages = [ChatMessage.User("u"), new ChatMessage("tool", "r")] }, "Messages[1].ToolCallId" },
        { "tool message with a blank id", Valid() with { Messages = [ChatMessage.User("u"), ChatMessage.Tool(" ", "r")] }, "Messages[1].ToolCallId" },
        { "tool message with null content", Valid() with { Messages = [ChatMessage.User("u"), new ChatMessage("tool", null) { ToolCallId = "c" }] }, "Messages[1].Content" },
        { "assistant without calls and null content", Valid() with { Messages = [ChatMessage.User("u"), new ChatMessage("assistant", null) { ToolCalls = [] }] }, "Messages[1].Content" },
        { "user message with null content and calls", Valid() with { Messages = [new ChatMessage("user", null) { ToolCalls = [Call] }] }, "Messages[0].Content" },
        { "user message with calls", Valid() with { Messages = [ChatMessage.User("u") with { ToolCalls = [Call] }] }, "Messages[0].ToolCalls" },
        { "null call", WithAssistant(Call, null), "Messages[2].ToolCalls[1]" },
        { "blank call id", WithAssistant(Call with { Id = " " }), "Messages[2].ToolCalls[0].Id" },
        { "null call id", WithAssistant(Call, Call with { Id = null! }), "Messages[2].ToolCalls[1].Id" },
        { "blank name", WithAssistant(Call, Call, Call with { Name = "" }), "Messages[2].ToolCalls[2].Name" },
        { "null arguments", WithAssistant(Call with { Arguments = null! }), "Messages[2].ToolCalls[0].Arguments" },
        { "empty arguments", WithAssistant(Call with { Arguments = "" }), "Messages[2].ToolCalls[0].Arguments" },
        { "arguments not JSON", WithAssistant(Call with { Arguments = "{city: Paris" }), "Messages[2].ToolCalls[0].Arguments" },
        { "null tool", Valid() with { Tools = [new ToolDefinition("a"), null!] }, "Tools[1]" },
        { "blank tool name", Valid() with { Tools = [new ToolDefinition(" ")] }, "Tools[0].Name" },
        { "duplicate tool name", Valid() with { Tools = [new ToolDefinition("a"), new ToolDefinition("b"), new ToolDefinition("a")] }, "Tools[2].Name" },
        { "parameters not JSON", Valid() with { Tools = [new ToolDefinition("a", null, "{type:")] }, "Tools[0].Parameters" },
        { "parameters not an object", Valid() with { Tools = [new ToolDefinition("a", null, "[]")] }, "Tools[0].Parameters" },
        { "unknown tool choice", Valid() with { ToolChoice = new ToolChoice("any") }, "ToolChoice.Mode" },
        { "null tool choice mode", Valid() with { ToolChoice = new ToolChoice(null!) }, "ToolChoice.Mode" },
        { "tool choice without tools", Valid() with { Tools = [] }, "ToolChoice" },
        { "function choice without a name", Valid() with { ToolChoice = new ToolChoice("function") }, "ToolChoice.FunctionName" },
        { "function choice of an undeclared tool", Valid() with { ToolChoice = ToolChoice.Function("get_time") }, "ToolChoice.FunctionName" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_tool_field_is_refused_naming_it(string _, ChatRequest request, string field)
    {
        var error = ChatRequestValidator.Validate(request);
        Assert.NotNull(error);
        Assert.StartsWith(field, error);
    }

    [Fact]
    public void The_messages_say_what_is_expected()
    {
        Assert.Equal("Messages[2].ToolCalls[0].Name must not be blank.", ChatRequestValidator.Validate(WithAssistant(Call with { Name = "" })));
        Assert.StartsWith("Messages[2].ToolCalls[0].Arguments is not valid JSON: ", ChatRequestValidator.Validate(WithAssistant(Call with { Arguments = "{" })));
        Assert.Contains("'a' is declared twice", ChatRequestValidator.Validate(Valid() with { Tools = [new ToolDefinition("a"), new ToolDefinition("a")] }));
        Assert.Contains("'get_time'", ChatRequestValidator.Validate(Valid() with { ToolChoice = ToolChoice.Function("get_time") }));
        Assert.Contains("only assistant messages", ChatRequestValidator.Validate(Valid() with { Messages = [ChatMessage.Tool("c", "r") with { ToolCalls = [Call] }] }));
    }
}
