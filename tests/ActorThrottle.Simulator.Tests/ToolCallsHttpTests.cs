using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace ActorThrottle.Simulator.Tests;

/// <summary>The simulator's deterministic tool-call answers (<see cref="ToolCallReply"/>), plain and streamed.</summary>
[Collection(ServerCollection.Name)]
public sealed class ToolCallsHttpTests
{
    private const string Schema = """{"type":"object","properties":{"city":{"type":"string"}}}""";

    private static object Tool(string name, string? description = null) =>
        new { type = "function", function = new { name, description, parameters = JsonDocument.Parse(Schema).RootElement } };

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, object body, bool stream = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        return client.SendAsync(request, stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead);
    }

    private static object[] Ask(string text = "Weather in Paris?") => [new { role = "user", content = text }];

    [Fact]
    public async Task With_tools_the_answer_calls_the_first_tool_with_empty_arguments()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions { DefaultModel = new ModelSettings { CompletionTokens = 7 } });
        using var client = Http.Client(provider);

        using var response = await PostAsync(client, new { model = "m", messages = Ask(), tools = new[] { Tool("get_weather", "Weather"), Tool("now") } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal("call_" + id["chatcmpl-".Length..], call.GetProperty("id").GetString());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("{}", call.GetProperty("function").GetProperty("arguments").GetString());

        // The tools count towards the prompt: name, description and the schema's JSON text as sent.
        var expected = PromptTokenCounter.Count("Weather in Paris?")
            + PromptTokenCounter.Count("get_weather") + PromptTokenCounter.Count("Weather") + PromptTokenCounter.Count(Schema)
            + PromptTokenCounter.Count("now") + PromptTokenCounter.Count(Schema);
        Assert.Equal(expected, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(7, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(1, provider.GetStats().For("m").Totals.Accepted);
    }

    [Fact]
    public async Task Tool_choice_picks_the_function_or_forbids_calls_and_a_tool_result_gets_a_text_answer()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions { DefaultModel = new ModelSettings { CompletionTokens = 5 } });
        using var client = Http.Client(provider);
        var tools = new[] { Tool("get_weather"), Tool("now") };

        using (var chosen = await PostAsync(client, new { model = "m", messages = Ask(), tools, tool_choice = new { type = "function", function = new { name = "now" } } }))
        {
            var message = (await chosen.JsonAsync()).GetProperty("choices")[0].GetProperty("message");
            Assert.Equal("now", message.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("name").GetString());
        }

        using (var none = await PostAsync(client, new { model = "m", messages = Ask(), tools, tool_choice = "none" }))
        {
            var choice = (await none.JsonAsync()).GetProperty("choices")[0];
            Assert.Equal(CompletionText.For(5), choice.GetProperty("message").GetProperty("content").GetString());
            Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _));
            Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        }

        object[] answered =
        [
            new { role = "user", content = "Weather in Paris?" },
            new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "get_weather", arguments = """{"city":"Paris"}""" } } } },
            new { role = "tool", content = "18°C", tool_call_id = "call_1" },
        ];
        using var final = await PostAsync(client, new { model = "m", messages = answered, tools });
        var body = await final.JsonAsync();
        Assert.Equal("stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(CompletionText.For(5), body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        // The assistant's call (name and arguments) counts towards the prompt as well.
        var prompt = PromptTokenCounter.Count("Weather in Paris?") + PromptTokenCounter.Count("get_weather") + PromptTokenCounter.Count("""{"city":"Paris"}""")
            + PromptTokenCounter.Count("18°C") + 2 * PromptTokenCounter.Count(Schema) + PromptTokenCounter.Count("get_weather") + PromptTokenCounter.Count("now");
        Assert.Equal(prompt, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        // No tools (or an empty list): text, as before.
        using var plain = await PostAsync(client, new { model = "m", messages = Ask(), tools = Array.Empty<object>() });
        Assert.Equal("stop", (await plain.JsonAsync()).GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task A_streamed_tool_call_sends_the_id_and_name_then_the_arguments_then_finish_reason_tool_calls()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions { DefaultModel = new ModelSettings { CompletionTokens = 4 } });
        using var client = Http.Client(provider);
        using var response = await PostAsync(client, new
        {
            model = "m", messages = Ask(), tools = new[] { Tool("get_weather") }, stream = true, stream_options = new { include_usage = true },
        }, stream: true);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = new List<string>();
        await response.ReadEventsAsync(events);

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement.Clone()).ToList();
        Assert.Equal(5, chunks.Count);                                            // role, call start, arguments, finish, usage
        var id = chunks[0].GetProperty("id").GetString()!;
        Assert.All(chunks, c => Assert.Equal(id, c.GetProperty("id").GetString()));
        JsonElement Delta(int i) => chunks[i].GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", Delta(0).GetProperty("role").GetString());
        Assert.Equal(
            $$$"""{"tool_calls":[{"index":0,"id":"call_{{{id["chatcmpl-".Length..]}}}","type":"function","function":{"name":"get_weather","arguments":""}}]}""",
            Delta(1).GetRawText());
        Assert.Equal("""{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}""", Delta(2).GetRawText());
        Assert.Equal("{}", Delta(3).GetRawText());
        Assert.Equal("tool_calls", chunks[3].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(4, chunks[4].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(1, provider.GetStats().For("m").Totals.Streamed);
    }

    [Fact]
    public async Task A_break_in_a_tool_call_stream_comes_after_the_first_call_delta()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { CompletionTokens = 4, StreamBreakRate = 1 }));
        using var client = Http.Client(provider);
        using var response = await PostAsync(client, new { model = "m", messages = Ask(), tools = new[] { Tool("f") }, stream = true }, stream: true);
        var events = new List<string>();
        await Assert.ThrowsAnyAsync<IOException>(() => response.ReadEventsAsync(events));
        Assert.Equal(2, events.Count);
        Assert.Contains("\"tool_calls\"", events[1]);
        Assert.Equal(1, provider.GetStats().For("m").Totals.StreamBreaks);
    }

    [Fact]
    public async Task The_official_openai_sdk_reads_the_tool_calls_plain_and_streamed_and_sends_the_results_back()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions
        {
            ApiKey = "sk-sim",
            Models = new Dictionary<string, ModelSettings> { ["gpt-4o-mini"] = new() { RequestsPerMinute = 600, CompletionTokens = 6 } },
        });
        var chat = new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-sim"),
            new OpenAIClientOptions { Endpoint = provider.ApiBaseUrl, RetryPolicy = new ClientRetryPolicy(0) });
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Weather", BinaryData.FromString(Schema)) } };
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("Weather in Paris?")];

        ChatCompletion completion = await chat.CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("{}", call.FunctionArguments.ToString());
        Assert.StartsWith("call_", call.Id);

        var streamedName = new StringBuilder();
        var streamedArguments = new StringBuilder();
        string? streamedId = null;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var piece in update.ToolCallUpdates)
            {
                Assert.Equal(0, piece.Index);
                streamedId ??= piece.ToolCallId;
                streamedName.Append(piece.FunctionName);
                streamedArguments.Append(piece.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.StartsWith("call_", streamedId);
        Assert.Equal("get_weather", streamedName.ToString());
        Assert.Equal("{}", streamedArguments.ToString());

        messages.Add(new AssistantChatMessage(completion));
        messages.Add(new ToolChatMessage(call.Id, "18°C, sunny"));
        ChatCompletion answer = await chat.CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        Assert.Equal(CompletionText.For(6), answer.Content[0].Text);
    }
}
