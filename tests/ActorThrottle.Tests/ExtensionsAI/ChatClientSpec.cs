using System.Collections.Concurrent;
using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Extensions.AI;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Engine;
using ActorThrottle.Tests.Support;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace ActorThrottle.Tests.ExtensionsAI;

/// <summary>
/// <see cref="ActorThrottleChatClient"/> over the engine with a scripted backend: what MEAI options and messages
/// become in the request (and its body), what a reply becomes, failures, cancellation, streaming and services.
/// </summary>
public sealed class ChatClientSpec : EngineSpecBase
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly ConcurrentQueue<ChatRequest> _sent = new();

    private ScriptedBackend Recording(Func<ChatRequest, int, BackendResponse>? answer = null) =>
        new((r, n) =>
        {
            _sent.Enqueue(r);
            return (answer ?? ((q, _) => ScriptedBackend.Success(q)))(r, n);
        });

    private ActorThrottleChatClient Client(ScriptedBackend backend, string? defaultModel = "gpt-4o-mini", string overrides = "") =>
        new(StartEngine(backend, overrides).Client, defaultModel);

    [Fact]
    public async Task The_request_carries_the_trace_of_meais_open_telemetry_span()
    {
        var started = new ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == "ActorThrottle.Tests.Meai",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = started.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var chat = new ChatClientBuilder(Client(Recording())).UseOpenTelemetry(sourceName: "ActorThrottle.Tests.Meai").Build();

        await chat.GetResponseAsync("hi").WaitAsync(Bound);

        var meai = Assert.Single(started);
        var sent = Assert.Single(_sent);
        Assert.Equal($"00-{meai.TraceId.ToHexString()}-{meai.SpanId.ToHexString()}-01", sent.TraceParent);
    }

    [Fact]
    public async Task Options_and_messages_become_the_request_and_its_openai_body()
    {
        var client = Client(Recording());
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}}}""").RootElement;
        var options = new ChatOptions
        {
            ModelId = "gpt-4.1",
            MaxOutputTokens = 64,
            Temperature = 0.7f,
            TopP = 0.9f,
            Seed = 42,
            StopSequences = ["END", "STOP"],
            PresencePenalty = 0.5f,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "weather", "A city"),
            Instructions = "Answer briefly.",
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["user"] = "u-1",
                ["logit_bias"] = new Dictionary<string, int> { ["50256"] = -100 },
                [ActorThrottleChatOptions.RequestIdKey] = "req-7",
            },
        }.AsBatch();

        await client.GetResponseAsync(
            [new AiChatMessage(ChatRole.System, "You are terse."), new AiChatMessage(ChatRole.User, [new TextContent("Hel"), new TextContent("lo")]),
             new AiChatMessage(ChatRole.Assistant, "Hi."), new AiChatMessage(new ChatRole("developer"), "Be nice.")],
            options).WaitAsync(Bound);

        var request = Assert.Single(_sent);
        Assert.Equal("gpt-4.1", request.Model);
        Assert.Equal("req-7", request.RequestId);
        Assert.Equal(Priority.Batch, request.Priority);
        Assert.Equal(64, request.MaxTokens);
        Assert.Equal(0.7, request.Temperature);
        Assert.Equal(
            [("system", "Answer briefly."), ("system", "You are terse."), ("user", "Hello"), ("assistant", "Hi."), ("developer", "Be nice.")],
            request.Messages.Select(m => (m.Role, m.Content)).ToArray());

        using var body = JsonDocument.Parse(ChatRequestBody.Write(request));
        var root = body.RootElement;
        Assert.Equal("gpt-4.1", root.GetProperty("model").GetString());
        Assert.Equal(64, root.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.7, root.GetProperty("temperature").GetDouble());
        Assert.Equal("0.9", root.GetProperty("top_p").GetRawText());
        Assert.Equal(42, root.GetProperty("seed").GetInt64());
        Assert.Equal(0.5, root.GetProperty("presence_penalty").GetDouble());
        Assert.Equal(["END", "STOP"], root.GetProperty("stop").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var format = root.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("weather", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.Equal("A city", format.GetProperty("json_schema").GetProperty("description").GetString());
        Assert.Equal("string", format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        Assert.Equal("u-1", root.GetProperty("user").GetString());
        Assert.Equal(-100, root.GetProperty("logit_bias").GetProperty("50256").GetInt32());
        // The engine's own keys never reach the provider.
        Assert.DoesNotContain(root.EnumerateObject(), p => p.Name.StartsWith("actor_throttle", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Plain_calls_use_the_default_model_with_no_extra_body_and_json_mode_maps_to_json_object()
    {
        var client = Client(Recording());
        await client.GetResponseAsync("hello").WaitAsync(Bound);
        await client.GetResponseAsync("json please", new ChatOptions { ResponseFormat = ChatResponseFormat.Json }).WaitAsync(Bound);

        var requests = _sent.ToArray();
        Assert.All(requests, r => Assert.Equal("gpt-4o-mini", r.Model));
        Assert.All(requests, r => Assert.Equal(Priority.Interactive, r.Priority));
        Assert.Null(requests[0].ExtraBody);
        Assert.Null(requests[0].MaxTokens);
        Assert.Equal("""{"response_format":{"type":"json_object"}}""", requests[1].ExtraBody);
    }

    [Fact]
    public async Task A_success_maps_text_finish_reason_model_usage_and_ids()
    {
        var client = Client(Recording((r, _) => ScriptedBackend.Success(r) with
        {
            FinishReason = "length",
            RawJson = """{"id":"chatcmpl-abc","created":1700000000,"usage":{"prompt_tokens":5,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":3}}}""",
        }));

        var response = await client.GetResponseAsync("hello", new ChatOptions().WithDeadline(DateTimeOffset.UtcNow.AddMinutes(1))).WaitAsync(Bound);

        var request = Assert.Single(_sent);
        Assert.Equal("ok:" + request.RequestId, response.Text);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal("gpt-4o-mini-2024", response.ModelId);                 // the model that answered, not the one asked
        Assert.Equal("chatcmpl-abc", response.ResponseId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), response.CreatedAt);
        Assert.Equal(5, response.Usage!.InputTokenCount);
        Assert.Equal(7, response.Usage.OutputTokenCount);
        Assert.Equal(12, response.Usage.TotalTokenCount);
        Assert.Equal(3, response.Usage.CachedInputTokenCount);
        var raw = Assert.IsType<ChatSuccess>(response.RawRepresentation);
        Assert.Equal(request.RequestId, raw.RequestId);
        Assert.Equal(request.RequestId, response.AdditionalProperties![ActorThrottleChatOptions.RequestIdKey]);
        Assert.Equal(1, response.AdditionalProperties[ActorThrottleChatOptions.AttemptsKey]);
        Assert.NotNull(request.Deadline);
    }

    [Theory]
    [InlineData("stop", "stop")]
    [InlineData("tool_calls", "tool_calls")]
    [InlineData("content_filter", "content_filter")]
    [InlineData("eos", "eos")]
    [InlineData(null, null)]
    public void Finish_reasons_map_to_meai_values(string? provider, string? expected) =>
        Assert.Equal(expected, ChatMapping.FinishReason(provider)?.Value);

    [Fact]
    public async Task Failures_throw_typed_exceptions_with_reason_status_and_provider_code()
    {
        var client = Client(Recording((r, _) => r.Messages[0].Content switch
        {
            "bad" => ScriptedBackend.BadRequest(),
            "quota" => ScriptedBackend.QuotaExceeded(),
            _ => ScriptedBackend.RateLimited(),
        }));

        var bad = await Assert.ThrowsAsync<ActorThrottleRequestException>(() => client.GetResponseAsync("bad").WaitAsync(Bound));
        Assert.Equal(FailureReason.Permanent, bad.Reason);
        Assert.Equal(400, bad.StatusCode);
        Assert.Equal("invalid_request_error", bad.ProviderCode);
        Assert.False(bad.IsTransient);
        Assert.Equal("gpt-4o-mini", bad.Model);
        Assert.Contains("Permanent", bad.Message);

        var quota = await Assert.ThrowsAsync<ActorThrottleRequestException>(() => client.GetResponseAsync("quota").WaitAsync(Bound));
        Assert.Equal("insufficient_quota", quota.ProviderCode);
        Assert.Equal(1, quota.Attempts);

        var limited = await Assert.ThrowsAsync<ActorThrottleRequestException>(() => client.GetResponseAsync("busy").WaitAsync(Bound));
        Assert.Equal(FailureReason.RateLimitedExhausted, limited.Reason);
        Assert.Equal(429, limited.StatusCode);
        Assert.Equal(4, limited.Attempts);                                   // the engine retried (max-attempts = 4), the adapter did not add any
        Assert.True(limited.IsTransient);

        // Invalid input is refused by the engine, naming the field.
        var invalid = await Assert.ThrowsAsync<ActorThrottleRequestException>(() => client.GetResponseAsync("x", new ChatOptions { Temperature = 3f }).WaitAsync(Bound));
        Assert.Equal(FailureReason.InvalidRequest, invalid.Reason);
        Assert.Contains("Temperature", invalid.Message);
    }

    [Fact]
    public async Task Cancelling_withdraws_a_queued_request_and_throws_operation_cancelled()
    {
        var gate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var backend = new ScriptedBackend(async (r, _, ct) =>
        {
            _sent.Enqueue(r);
            await gate.Task.WaitAsync(ct);
            return ScriptedBackend.Success(r);
        });
        var client = Client(backend, overrides: "actor-throttle.defaults.max-in-flight = 1");

        var first = client.GetResponseAsync("first");
        while (backend.TotalCalls == 0)
        {
            await Task.Delay(5);
        }
        using var cts = new CancellationTokenSource();
        var options = new ChatOptions { AdditionalProperties = new() { [ActorThrottleChatOptions.RequestIdKey] = "queued" } };
        var second = client.GetResponseAsync("second", options, cts.Token);
        await Task.Delay(50);
        cts.Cancel();

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Bound));
        Assert.Equal(cts.Token, cancelled.CancellationToken);
        gate.SetResult(true);
        await first.WaitAsync(Bound);
        Assert.Equal(0, backend.CallsFor("queued"));                     // it never reached the provider

        // An already cancelled token sends nothing.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync("late", cancellationToken: cts.Token).WaitAsync(Bound));
        Assert.Equal(1, backend.TotalCalls);
    }

    [Fact]
    public async Task What_the_engine_cannot_send_is_refused_before_anything_is_sent()
    {
        var client = Client(Recording(), defaultModel: null);
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync("no model"));
        var withModel = new ChatOptions { ModelId = "m" };
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(
            [new AiChatMessage(ChatRole.User, [new TextContent("look"), new DataContent(new byte[] { 1, 2 }, "image/png")])], withModel));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync("hi",
            new ChatOptions { ModelId = "m", Tools = [new HostedCodeInterpreterTool()] }));
        var priority = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("hi",
            new ChatOptions { ModelId = "m", AdditionalProperties = new() { [ActorThrottleChatOptions.PriorityKey] = "urgent" } }));
        Assert.Contains(ActorThrottleChatOptions.PriorityKey, priority.Message);
        Assert.Empty(_sent);
    }

    [Fact]
    public async Task Streaming_yields_one_update_per_chunk_then_the_finish_reason_model_and_usage()
    {
        var backend = ScriptedStreamBackend.Pieces("Hel", "lo", "!");
        var client = new ActorThrottleChatClient(StartEngine(backend).Client, "gpt-4o-mini");
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("hello").WithCancellation(CancellationToken.None))
        {
            updates.Add(update);
        }

        Assert.Equal(["Hel", "lo", "!", ""], updates.Select(u => u.Text));
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.All(updates.Take(3), u => Assert.Null(u.FinishReason));
        var response = updates.ToChatResponse();
        Assert.Equal("Hello!", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("gpt-4o-mini-2024", response.ModelId);
        Assert.Equal(12, response.Usage!.TotalTokenCount);
        Assert.Equal(1, updates[^1].AdditionalProperties![ActorThrottleChatOptions.AttemptsKey]);
        Assert.True(updates[^1].AdditionalProperties!.ContainsKey(ActorThrottleChatOptions.LatencyKey));
        Assert.Equal(1, backend.StreamCalls);
        Assert.Equal(0, backend.PlainCalls);
    }

    [Fact]
    public async Task Streaming_failures_throw_after_the_text_that_flowed_and_before_it_for_a_refused_request()
    {
        var backend = new ScriptedStreamBackend((r, _, onContent, _) =>
        {
            if (r.Messages[0].Content == "bad")
            {
                return Task.FromResult(ScriptedBackend.BadRequest());
            }
            onContent("half");
            return Task.FromResult(ScriptedBackend.ServerError(502));
        });
        var client = new ActorThrottleChatClient(StartEngine(backend).Client, "gpt-4o-mini");

        var refused = await Assert.ThrowsAsync<ActorThrottleRequestException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("bad"))
            {
                Assert.Fail("nothing is yielded for a refused request");
            }
        });
        Assert.Equal(FailureReason.Permanent, refused.Reason);

        var seen = new List<string>();
        var broken = await Assert.ThrowsAsync<ActorThrottleRequestException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("go"))
            {
                seen.Add(update.Text);
            }
        });
        Assert.Equal(["half"], seen);
        Assert.Equal(FailureReason.StreamInterrupted, broken.Reason);
        Assert.True(broken.IsTransient);
    }

    [Fact]
    public async Task Cancelling_a_stream_throws_OperationCanceled_and_cancels_the_call()
    {
        var backend = ScriptedStreamBackend.FirstChunkThenWaitForCancel("one", out var callCancelled);
        var client = new ActorThrottleChatClient(StartEngine(backend).Client, "gpt-4o-mini");
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("go", cancellationToken: cts.Token))
            {
                await cts.CancelAsync();
            }
        });
        await callCancelled.WaitAsync(Bound);
    }

    [Fact]
    public void Services_expose_metadata_and_the_engine_client()
    {
        var engineClient = StartEngine(Recording()).Client;
        using IChatClient client = engineClient.AsIChatClient("gpt-4o-mini");
        var metadata = client.GetService<ChatClientMetadata>()!;
        Assert.Equal(ActorThrottleChatClient.ProviderName, metadata.ProviderName);
        Assert.Equal("gpt-4o-mini", metadata.DefaultModelId);
        Assert.Same(engineClient, client.GetService<ActorThrottleClient>());
        Assert.Same(client, client.GetService<ActorThrottleChatClient>());
        Assert.Null(client.GetService<ChatClientMetadata>("some-key"));
        Assert.Null(client.GetService<string>());
    }

    [Fact]
    public void Registration_without_an_engine_client_names_the_missing_call()
    {
        var services = new ServiceCollection();
        services.AddActorThrottleChatClient("gpt-4o-mini");
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Contains("AddActorThrottleClient", error.Message);
    }
}
