using System.Collections.Concurrent;
using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Extensions.AI;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Engine;
using ActorThrottle.Tests.Support;
using Microsoft.Extensions.AI;
using Xunit;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using EngineChatMessage = ActorThrottle.Messages.ChatMessage;

namespace ActorThrottle.Tests.ExtensionsAI;

/// <summary>
/// Tool calling through <see cref="ActorThrottleChatClient"/>: MEAI tools, tool modes, function calls and results become
/// the engine's request (and OpenAI's body); tool calls in a reply become <see cref="FunctionCallContent"/>; and
/// <c>UseFunctionInvocation()</c> over our client runs a real <see cref="AIFunction"/> to the final answer.
/// </summary>
public sealed class ToolCallingSpec : EngineSpecBase
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly ConcurrentQueue<ChatRequest> _sent = new();

    /// <summary>An OpenAI completion body that calls <paramref name="name"/> with <paramref name="arguments"/>.</summary>
    private static string ToolCallBody(string id, string name, string arguments, string? content = null) =>
        JsonSerializer.Serialize(new
        {
            id = "chatcmpl-tools",
            @object = "chat.completion",
            created = 1_700_000_000,
            model = "gpt-4o-mini-2024",
            choices = new[]
            {
                new
                {
                    index = 0,
                    message = new
                    {
                        role = "assistant",
                        content,
                        tool_calls = new[] { new { id, type = "function", function = new { name, arguments } } },
                    },
                    finish_reason = "tool_calls",
                },
            },
            usage = new { prompt_tokens = 50, completion_tokens = 10, total_tokens = 60 },
        });

    /// <summary>What the real backend returns for such a body: the parser's own result.</summary>
    private static BackendResponse Answer(string body) => ChatResponseParser.Parse(200, body, RateLimitInfo.None);

    private ScriptedBackend Recording(Func<ChatRequest, int, BackendResponse> answer) =>
        new((r, n) =>
        {
            _sent.Enqueue(r);
            return answer(r, n);
        });

    private ActorThrottleChatClient Client(IChatBackendFactory backend) => new(StartEngine(backend).Client, "gpt-4o-mini");

    private static AIFunction Weather(ConcurrentQueue<string> calls) =>
        AIFunctionFactory.Create((string city) =>
        {
            calls.Enqueue(city);
            return new { city, temperature = 18, sky = "sunny" };
        }, "get_weather", "The current weather of a city.");

    [Fact]
    public async Task Tools_and_tool_modes_become_typed_tools_tool_choice_and_parallel_tool_calls()
    {
        var client = Client(Recording((r, _) => ScriptedBackend.Success(r)));
        var weather = Weather(new ConcurrentQueue<string>());
        var now = AIFunctionFactory.Create(() => "12:00", "now");

        foreach (var (mode, expected) in new (ChatToolMode?, ToolChoice?)[]
                 {
                     (null, null), (ChatToolMode.Auto, ToolChoice.Auto), (ChatToolMode.None, ToolChoice.None),
                     (ChatToolMode.RequireAny, ToolChoice.Required), (ChatToolMode.RequireSpecific("now"), ToolChoice.Function("now")),
                 })
        {
            _sent.Clear();
            await client.GetResponseAsync("weather?", new ChatOptions { Tools = [weather, now], ToolMode = mode, AllowMultipleToolCalls = false }).WaitAsync(Bound);
            var request = Assert.Single(_sent);
            Assert.Equal(expected, request.ToolChoice);
            Assert.Equal(2, request.Tools!.Count);
            Assert.Equal(new ToolDefinition("get_weather", "The current weather of a city.", weather.JsonSchema.GetRawText()), request.Tools[0]);
            Assert.Equal("now", request.Tools[1].Name);
            Assert.Null(request.Tools[1].Description);

            using var body = JsonDocument.Parse(ChatRequestBody.Write(request));
            var root = body.RootElement;
            var function = root.GetProperty("tools")[0].GetProperty("function");
            Assert.Equal("get_weather", function.GetProperty("name").GetString());
            Assert.Equal("string", function.GetProperty("parameters").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
            Assert.False(root.GetProperty("parallel_tool_calls").GetBoolean());
            Assert.Equal(mode is not null, root.TryGetProperty("tool_choice", out _));
        }

        // A tool mode without tools means nothing: no tools, no tool_choice, no parallel_tool_calls.
        _sent.Clear();
        await client.GetResponseAsync("hi", new ChatOptions { ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = true }).WaitAsync(Bound);
        var plain = Assert.Single(_sent);
        Assert.Null(plain.Tools);
        Assert.Null(plain.ToolChoice);
        Assert.Null(plain.ExtraBody);
    }

    [Fact]
    public async Task Function_calls_and_results_in_the_history_become_tool_calls_and_tool_messages()
    {
        var client = Client(Recording((r, _) => ScriptedBackend.Success(r)));
        var history = new List<AiChatMessage>
        {
            new(ChatRole.User, "Weather in Paris and Oslo?"),
            new(ChatRole.Assistant,
            [
                new TextContent("Let me check."),
                new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" }),
                new FunctionCallContent("call_2", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo", ["units"] = new[] { "C" } }),
                new FunctionCallContent("call_3", "now"),
            ]),
            new(ChatRole.Tool,
            [
                new FunctionResultContent("call_1", "18°C, sunny"),
                new FunctionResultContent("call_2", new { temp = -3, sky = "snow" }),
                new FunctionResultContent("call_3", null),
            ]),
        };

        await client.GetResponseAsync(history, new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "now")] }).WaitAsync(Bound);

        var request = Assert.Single(_sent);
        Assert.Equal(5, request.Messages.Count);                                  // one tool message per result
        var assistant = request.Messages[1];
        Assert.Equal("assistant", assistant.Role);
        Assert.Equal("Let me check.", assistant.Content);
        Assert.Equal(
            [new ToolCall("call_1", "get_weather", """{"city":"Paris"}"""), new ToolCall("call_2", "get_weather", """{"city":"Oslo","units":["C"]}"""), new ToolCall("call_3", "now", "{}")],
            assistant.ToolCalls);
        Assert.Equal(EngineChatMessage.Tool("call_1", "18°C, sunny"), request.Messages[2]);     // a string as is
        Assert.Equal(EngineChatMessage.Tool("call_2", """{"temp":-3,"sky":"snow"}"""), request.Messages[3]); // anything else as JSON
        Assert.Equal(EngineChatMessage.Tool("call_3", ""), request.Messages[4]);
        Assert.Null(ChatRequestValidator.Validate(request));

        // Without text the assistant's content is null, as OpenAI sends it.
        _sent.Clear();
        await client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, "x"), new AiChatMessage(ChatRole.Assistant, [new FunctionCallContent("c", "now")]),
             new AiChatMessage(ChatRole.Tool, [new FunctionResultContent("c", 42)])]).WaitAsync(Bound);
        var second = Assert.Single(_sent);
        Assert.Null(second.Messages[1].Content);
        Assert.Equal("42", second.Messages[2].Content);
    }

    [Fact]
    public void Results_are_written_as_MEAI_does_a_string_as_is_anything_else_as_json()
    {
        Assert.Equal("plain", ChatMapping.ResultText("plain"));
        Assert.Equal("", ChatMapping.ResultText(null));
        Assert.Equal("3.5", ChatMapping.ResultText(3.5));
        Assert.Equal("true", ChatMapping.ResultText(true));
        Assert.Equal("""{"a":[1,2]}""", ChatMapping.ResultText(JsonDocument.Parse("""{"a":[1,2]}""").RootElement));
        Assert.Equal("\"quoted\"", ChatMapping.ResultText(JsonDocument.Parse("\"quoted\"").RootElement));
        Assert.Equal("{}", ChatMapping.ArgumentsJson(null));
        Assert.Equal("{}", ChatMapping.ArgumentsJson(new Dictionary<string, object?>()));
    }

    [Fact]
    public async Task Tool_calls_in_a_reply_become_function_calls_with_parsed_arguments()
    {
        var client = Client(Recording((_, _) => Answer(ToolCallBody("call_9", "get_weather", """{"city":"Paris","days":2}"""))));
        var response = await client.GetResponseAsync("weather?", new ChatOptions { Tools = [Weather(new())] }).WaitAsync(Bound);

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var message = Assert.Single(response.Messages);
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(message.Contents));   // no empty text beside it
        Assert.Equal("call_9", call.CallId);
        Assert.Equal("get_weather", call.Name);
        Assert.Null(call.Exception);
        Assert.Equal("Paris", ((JsonElement)call.Arguments!["city"]!).GetString());
        Assert.Equal(2, ((JsonElement)call.Arguments["days"]!).GetInt32());
        Assert.Equal(new ToolCall("call_9", "get_weather", """{"city":"Paris","days":2}"""), call.RawRepresentation);
        var success = Assert.IsType<ChatSuccess>(response.RawRepresentation);
        Assert.Equal("call_9", Assert.Single(success.ToolCalls!).Id);
        Assert.Equal("chatcmpl-tools", response.ResponseId);
        Assert.Equal(60, response.Usage!.TotalTokenCount);
    }

    [Fact]
    public async Task Text_beside_tool_calls_is_kept_and_bad_arguments_surface_as_the_calls_exception()
    {
        var client = Client(Recording((_, _) => Answer(ToolCallBody("c", "f", "{not json", content: "Sure."))));
        var response = await client.GetResponseAsync("go").WaitAsync(Bound);
        var contents = Assert.Single(response.Messages).Contents;
        Assert.Equal("Sure.", Assert.IsType<TextContent>(contents[0]).Text);
        var call = Assert.IsType<FunctionCallContent>(contents[1]);
        Assert.NotNull(call.Exception);
        Assert.Equal("Sure.", response.Text);
    }

    [Fact]
    public async Task UseFunctionInvocation_runs_the_function_and_sends_the_call_and_its_result_back_for_the_final_answer()
    {
        var backend = Recording((request, _) => request.Messages[^1].Role == "tool"
            ? ScriptedBackend.Success(request, "It is 18°C and sunny in Paris") with { FinishReason = "stop" }
            : Answer(ToolCallBody("call_w1", "get_weather", """{"city":"Paris"}""")));
        var invoked = new ConcurrentQueue<string>();
        using var chat = new ChatClientBuilder(Client(backend)).UseFunctionInvocation().Build();

        var response = await chat.GetResponseAsync("What is the weather in Paris?", new ChatOptions { Tools = [Weather(invoked)] }).WaitAsync(Bound);

        Assert.Equal(["Paris"], invoked);                                          // the real AIFunction ran once
        Assert.StartsWith("It is 18°C and sunny in Paris", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        var sent = _sent.ToArray();
        Assert.Equal(2, sent.Length);
        Assert.Equal(["user"], sent[0].Messages.Select(m => m.Role));
        // The second request carries the assistant's call and the function's result, in OpenAI's form.
        var second = sent[1];
        Assert.Equal(["user", "assistant", "tool"], second.Messages.Select(m => m.Role));
        Assert.Equal([new ToolCall("call_w1", "get_weather", """{"city":"Paris"}""")], second.Messages[1].ToolCalls);
        Assert.Null(second.Messages[1].Content);
        Assert.Equal("call_w1", second.Messages[2].ToolCallId);
        using (var result = JsonDocument.Parse(second.Messages[2].Content!))
        {
            Assert.Equal("Paris", result.RootElement.GetProperty("city").GetString());
            Assert.Equal(18, result.RootElement.GetProperty("temperature").GetInt32());
        }
        Assert.Equal("get_weather", second.Tools!.Single().Name);
        Assert.Null(ChatRequestValidator.Validate(second));
        using (var body = JsonDocument.Parse(ChatRequestBody.Write(second)))
        {
            var messages = body.RootElement.GetProperty("messages");
            Assert.Equal("call_w1", messages[1].GetProperty("tool_calls")[0].GetProperty("id").GetString());
            Assert.Equal("call_w1", messages[2].GetProperty("tool_call_id").GetString());
        }
        // The whole exchange is in the response: call, result, answer.
        Assert.Contains(response.Messages.SelectMany(m => m.Contents), c => c is FunctionCallContent { CallId: "call_w1" });
        Assert.Contains(response.Messages.SelectMany(m => m.Contents), c => c is FunctionResultContent { CallId: "call_w1" });
    }

    [Fact]
    public async Task The_engine_alone_carries_a_tool_exchange_as_the_docs_show()
    {
        var backend = Recording((request, _) => request.Messages[^1].Role == "tool"
            ? ScriptedBackend.Success(request, "18°C in Paris")
            : Answer(ToolCallBody("call_e1", "get_weather", """{"city":"Paris"}""")));
        var client = StartEngine(backend).Client;
        static string RunTool(string name, string arguments) => name == "get_weather" && arguments.Contains("Paris") ? "18°C" : "?";
        var ct = CancellationToken.None;

        var request = new ChatRequest("gpt-4o-mini", [EngineChatMessage.User("What is the weather in Paris?")])
        {
            Tools = [new ToolDefinition("get_weather", "The current weather of a city.",
                """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""")],
            ToolChoice = ToolChoice.Auto,
        };
        ChatReply? answer = null;
        if (await client.CompleteAsync(request, ct).WaitAsync(Bound) is ChatSuccess { ToolCalls: { Count: > 0 } calls } first)
        {
            Assert.Equal("tool_calls", first.FinishReason);
            List<EngineChatMessage> messages = [.. request.Messages, EngineChatMessage.Assistant(calls, first.Content)];
            messages.AddRange(calls.Select(call => EngineChatMessage.Tool(call.Id, RunTool(call.Name, call.Arguments))));
            answer = await client.CompleteAsync(request with { Messages = messages }, ct).WaitAsync(Bound);
        }

        Assert.StartsWith("18°C in Paris", Assert.IsType<ChatSuccess>(answer).Content);
        var second = _sent.ToArray()[1];
        Assert.Equal(EngineChatMessage.Tool("call_e1", "18°C"), second.Messages[2]);
        Assert.Equal([new ToolCall("call_e1", "get_weather", """{"city":"Paris"}""")], second.Messages[1].ToolCalls);
    }

    /// <summary>A stream that calls <c>get_weather</c> in fragments, as OpenAI streams it, or answers text after a tool result.</summary>
    private static ScriptedStreamBackend StreamingModel(ConcurrentQueue<ChatRequest> sent) => new((request, _, onContent, _) =>
    {
        sent.Enqueue(request);
        var stream = new ChatStreamAccumulator();
        IEnumerable<string> events = request.Messages[^1].Role == "tool"
            ? [ChatStreamAccumulatorTests.Chunk(content: "Sunny"), ChatStreamAccumulatorTests.Chunk(content: ", 18°C"), ChatStreamAccumulatorTests.Chunk(finish: "stop")]
            :
            [
                ToolCallStreamTests.ToolDelta(ToolCallStreamTests.Start(0, "call_s1", "get_weather")),
                ToolCallStreamTests.ToolDelta(ToolCallStreamTests.Args(0, "{\"city\":")),
                ToolCallStreamTests.ToolDelta(ToolCallStreamTests.Args(0, "\"Oslo\"}")),
                ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"),
            ];
        foreach (var data in events.Append(ChatStreamAccumulatorTests.UsageChunk).Append(ChatStreamAccumulator.DoneMarker))
        {
            if (stream.Accept(data) is { Length: > 0 } text)
            {
                onContent(text);
            }
        }
        return Task.FromResult(stream.Complete(200, RateLimitInfo.None));
    });

    [Fact]
    public async Task Streaming_emits_the_assembled_tool_calls_in_the_final_update()
    {
        var sent = new ConcurrentQueue<ChatRequest>();
        var client = Client(StreamingModel(sent));
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("weather?", new ChatOptions { Tools = [Weather(new())] }))
        {
            updates.Add(update);
        }

        var last = Assert.Single(updates);                                         // no text: only the final update
        Assert.Equal(ChatFinishReason.ToolCalls, last.FinishReason);
        var call = Assert.IsType<FunctionCallContent>(last.Contents[0]);
        Assert.Equal("call_s1", call.CallId);
        Assert.Equal("Oslo", ((JsonElement)call.Arguments!["city"]!).GetString());
        Assert.IsType<UsageContent>(last.Contents[1]);
        var response = updates.ToChatResponse();
        Assert.Equal("call_s1", Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()).CallId);
    }

    [Fact]
    public async Task Streaming_UseFunctionInvocation_runs_the_function_then_streams_the_answer()
    {
        var sent = new ConcurrentQueue<ChatRequest>();
        var invoked = new ConcurrentQueue<string>();
        using var chat = new ChatClientBuilder(Client(StreamingModel(sent))).UseFunctionInvocation().Build();

        var text = new List<string>();
        var all = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync("Weather in Oslo?", new ChatOptions { Tools = [Weather(invoked)] }))
        {
            all.Add(update);
            if (update.Text.Length > 0)
            {
                text.Add(update.Text);
            }
        }

        Assert.Equal(["Oslo"], invoked);
        Assert.Equal(["Sunny", ", 18°C"], text);
        var requests = sent.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.Equal(["user", "assistant", "tool"], requests[1].Messages.Select(m => m.Role));
        Assert.Equal("call_s1", requests[1].Messages[2].ToolCallId);
        Assert.Contains("\"Oslo\"", requests[1].Messages[2].Content);
        Assert.Equal(ChatFinishReason.Stop, all.ToChatResponse().FinishReason);
    }

    [Fact]
    public async Task What_still_cannot_be_sent_is_refused_with_a_clear_message_before_anything_is_sent()
    {
        var client = Client(Recording((r, _) => ScriptedBackend.Success(r)));

        var image = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, [new TextContent("look"), new UriContent("https://example.com/cat.png", "image/png")])]));
        Assert.Contains("UriContent", image.Message);
        Assert.Contains("images", image.Message);

        var hosted = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync("search",
            new ChatOptions { Tools = [new HostedWebSearchTool()] }));
        Assert.Contains("HostedWebSearchTool", hosted.Message);

        var misplacedResult = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, [new FunctionResultContent("c", "r")])]));
        Assert.Contains("messages[0]", misplacedResult.Message);
        Assert.Contains("tool messages", misplacedResult.Message);

        var misplacedCall = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, "u"), new AiChatMessage(ChatRole.Tool, [new FunctionCallContent("c", "f")])]));
        Assert.Contains("messages[1]", misplacedCall.Message);

        Assert.Empty(_sent);

        // A tool message without a result has no tool call id: the engine refuses it, naming the field.
        var invalid = await Assert.ThrowsAsync<ActorThrottleRequestException>(() => client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, "u"), new AiChatMessage(ChatRole.Tool, "orphan text")]).WaitAsync(Bound));
        Assert.Equal(FailureReason.InvalidRequest, invalid.Reason);
        Assert.Contains("Messages[1].ToolCallId", invalid.Message);
        Assert.Empty(_sent);
    }
}
