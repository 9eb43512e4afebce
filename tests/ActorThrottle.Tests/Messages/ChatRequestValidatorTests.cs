using System.Globalization;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Messages;

public sealed class ChatRequestValidatorTests
{
    private static ChatRequest Valid() => new("gpt-4o-mini", [ChatMessage.System("Be brief."), ChatMessage.User("Hello")]);

    private static ChatRequest WithMessages(params ChatMessage?[] messages) => Valid() with { Messages = messages! };

    public static TheoryData<string, ChatRequest, string> Invalid() => new()
    {
        { "null model", Valid() with { Model = null! }, "Model" },
        { "empty model", Valid() with { Model = "" }, "Model" },
        { "blank model", Valid() with { Model = " \t" }, "Model" },
        { "blank request id", Valid() with { RequestId = " " }, "RequestId" },
        { "null messages", Valid() with { Messages = null! }, "Messages" },
        { "no messages", Valid() with { Messages = [] }, "Messages" },
        { "null message", WithMessages(ChatMessage.User("hi"), null), "Messages[1]" },
        { "blank role", WithMessages(ChatMessage.User("hi"), new ChatMessage(" ", "x")), "Messages[1].Role" },
        { "null role", WithMessages(new ChatMessage(null!, "x")), "Messages[0].Role" },
        { "unknown role", WithMessages(ChatMessage.User("hi"), ChatMessage.User("hi"), new ChatMessage("wizard", "x")), "Messages[2].Role" },
        { "role in other case", WithMessages(new ChatMessage("User", "x")), "Messages[0].Role" },
        { "null content", WithMessages(ChatMessage.System("s"), new ChatMessage("user", null)), "Messages[1].Content" },
        { "max tokens 0", Valid() with { MaxTokens = 0 }, "MaxTokens" },
        { "max tokens negative", Valid() with { MaxTokens = -5 }, "MaxTokens" },
        { "temperature NaN", Valid() with { Temperature = double.NaN }, "Temperature" },
        { "temperature negative", Valid() with { Temperature = -0.1 }, "Temperature" },
        { "temperature above 2", Valid() with { Temperature = 2.5 }, "Temperature" },
        { "temperature infinite", Valid() with { Temperature = double.PositiveInfinity }, "Temperature" },
        { "extra body not JSON", Valid() with { ExtraBody = "{ not json" }, "ExtraBody" },
        { "extra body a JSON array", Valid() with { ExtraBody = "[1, 2]" }, "ExtraBody" },
        { "extra body a JSON string", Valid() with { ExtraBody = "\"tools\"" }, "ExtraBody" },
        { "undefined priority", Valid() with { Priority = (Priority)7 }, "Priority" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_request_is_refused_with_a_message_that_names_the_field(string _, ChatRequest request, string field)
    {
        var error = ChatRequestValidator.Validate(request);

        Assert.NotNull(error);
        Assert.StartsWith(field, error);
    }

    [Fact]
    public void A_null_request_is_refused()
    {
        Assert.NotNull(ChatRequestValidator.Validate(null));
    }

    [Fact]
    public void A_message_names_the_index_of_the_first_bad_message()
    {
        var error = ChatRequestValidator.Validate(WithMessages(ChatMessage.User("a"), new ChatMessage("user", null), new ChatMessage("x", null)));
        Assert.Equal("Messages[1].Content must not be null.", error);
    }

    [Fact]
    public void A_message_for_a_bad_value_shows_the_value()
    {
        Assert.Contains("-5", ChatRequestValidator.Validate(Valid() with { MaxTokens = -5 }));
        Assert.Contains("'wizard'", ChatRequestValidator.Validate(WithMessages(new ChatMessage("wizard", "x"))));
    }

    [Fact]
    public void The_temperature_in_a_message_is_written_the_same_in_every_culture()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            Assert.Contains("2.5", ChatRequestValidator.Validate(Valid() with { Temperature = 2.5 }));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    public static TheoryData<string, ChatRequest> Valids() => new()
    {
        { "plain", Valid() },
        { "every known role", WithMessages(new ChatMessage("system", "s"), new ChatMessage("developer", "d"), new ChatMessage("user", "u"), new ChatMessage("assistant", "a"), new ChatMessage("tool", "t") { ToolCallId = "call_1" }) },
        { "empty content", WithMessages(ChatMessage.User("")) },
        { "max tokens 1", Valid() with { MaxTokens = 1 } },
        { "temperature 0", Valid() with { Temperature = 0 } },
        { "temperature 2", Valid() with { Temperature = 2 } },
        { "extra body object", Valid() with { ExtraBody = """{"response_format":{"type":"json_object"},"tools":[]}""" } },
        { "extra body blank", Valid() with { ExtraBody = "  " } },
        { "batch priority and a past deadline", Valid() with { Priority = Priority.Batch, Deadline = DateTimeOffset.UnixEpoch } },
    };

    [Theory]
    [MemberData(nameof(Valids))]
    public void A_well_formed_request_passes(string _, ChatRequest request)
    {
        Assert.Null(ChatRequestValidator.Validate(request));
    }
}
