using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

public sealed class ChatRequestBodyTests
{
    private static JsonElement Write(ChatRequest request) =>
        JsonDocument.Parse(ChatRequestBody.Write(request)).RootElement.Clone();

    private static ChatRequest Request(string? extraBody = null, int? maxTokens = null, double? temperature = null) =>
        new("gpt-4o-mini", [ChatMessage.System("Be brief."), ChatMessage.User("Hi \"there\" 😀")])
        {
            ExtraBody = extraBody,
            MaxTokens = maxTokens,
            Temperature = temperature,
        };

    [Fact]
    public void The_body_carries_the_model_and_the_messages_in_order()
    {
        var json = Write(Request());
        Assert.Equal("gpt-4o-mini", json.GetProperty("model").GetString());
        var messages = json.GetProperty("messages").EnumerateArray().ToArray();
        Assert.Equal(2, messages.Length);
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("Be brief.", messages[0].GetProperty("content").GetString());
        Assert.Equal("user", messages[1].GetProperty("role").GetString());
        Assert.Equal("Hi \"there\" 😀", messages[1].GetProperty("content").GetString());
    }

    [Fact]
    public void Optional_fields_are_omitted_when_not_given()
    {
        var json = Write(Request());
        Assert.False(json.TryGetProperty("max_tokens", out _));
        Assert.False(json.TryGetProperty("temperature", out _));
        Assert.False(json.TryGetProperty("stream", out _));
        Assert.Equal(["model", "messages"], json.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Max_tokens_and_temperature_are_written_when_given()
    {
        var json = Write(Request(maxTokens: 64, temperature: 0.25));
        Assert.Equal(64, json.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.25, json.GetProperty("temperature").GetDouble());
    }

    [Fact]
    public void A_message_with_null_content_is_written_as_null()
    {
        var json = Write(new ChatRequest("m", [new ChatMessage("assistant", null)]));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("messages")[0].GetProperty("content").ValueKind);
    }

    [Fact]
    public void ExtraBody_properties_are_merged_into_the_body_verbatim()
    {
        var json = Write(Request(extraBody: """
            {"response_format":{"type":"json_object"},"seed":7,"tools":[{"type":"function","function":{"name":"f"}}],"user":"u-1"}
            """));
        Assert.Equal("json_object", json.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal(7, json.GetProperty("seed").GetInt32());
        Assert.Equal("f", json.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("u-1", json.GetProperty("user").GetString());
        Assert.Equal("gpt-4o-mini", json.GetProperty("model").GetString());
    }

    [Fact]
    public void ExtraBody_cannot_override_model_messages_or_stream()
    {
        var json = Write(Request(extraBody: """{"model":"gpt-evil","messages":[],"stream":true,"seed":1}"""));
        Assert.Equal("gpt-4o-mini", json.GetProperty("model").GetString());
        Assert.Equal(2, json.GetProperty("messages").GetArrayLength());
        Assert.False(json.TryGetProperty("stream", out _));
        Assert.Equal(1, json.GetProperty("seed").GetInt32());
        Assert.Single(json.EnumerateObject(), p => p.Name == "model");
        Assert.Single(json.EnumerateObject(), p => p.Name == "messages");
    }

    [Fact]
    public void Explicit_max_tokens_and_temperature_win_over_ExtraBody()
    {
        var json = Write(Request(extraBody: """{"max_tokens":9999,"temperature":2.0}""", maxTokens: 10, temperature: 0.5));
        Assert.Equal(10, json.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.5, json.GetProperty("temperature").GetDouble());
        Assert.Single(json.EnumerateObject(), p => p.Name == "max_tokens");
        Assert.Single(json.EnumerateObject(), p => p.Name == "temperature");
    }

    [Fact]
    public void ExtraBody_may_supply_max_tokens_and_temperature_when_the_request_does_not()
    {
        var json = Write(Request(extraBody: """{"max_tokens":33,"temperature":0.1}"""));
        Assert.Equal(33, json.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.1, json.GetProperty("temperature").GetDouble());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{}")]
    public void An_empty_ExtraBody_adds_nothing(string extra) =>
        Assert.Equal(["model", "messages"], Write(Request(extraBody: extra)).EnumerateObject().Select(p => p.Name));
}
