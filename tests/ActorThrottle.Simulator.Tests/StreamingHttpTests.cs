using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;

namespace ActorThrottle.Simulator.Tests;

[Collection(ServerCollection.Name)]
public sealed class StreamingHttpTests
{
    [Fact]
    public async Task A_stream_sends_role_content_and_finish_chunks_then_done_with_rate_limit_headers()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("gpt-4o-mini", new ModelSettings
        {
            RequestsPerMinute = 600,
            TokensPerMinute = 100_000,
            CompletionTokens = 12,
        }));
        using var client = Http.Client(provider);

        using var response = await client.StreamAsync("gpt-4o-mini", maxTokens: 100);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.Equal("600", response.Header("x-ratelimit-limit-requests"));
        Assert.Equal("599", response.Header("x-ratelimit-remaining-requests"));
        Assert.Equal("100000", response.Header("x-ratelimit-limit-tokens"));
        Assert.NotNull(response.Header("x-ratelimit-reset-tokens"));
        Assert.Null(response.Header("retry-after"));

        var events = new List<string>();
        await response.ReadEventsAsync(events);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(Parse).ToList();
        var id = chunks[0].GetProperty("id").GetString();
        Assert.StartsWith("chatcmpl-sim", id);
        foreach (var chunk in chunks)
        {
            Assert.Equal(id, chunk.GetProperty("id").GetString());
            Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString());
            Assert.Equal("gpt-4o-mini", chunk.GetProperty("model").GetString());
            Assert.Equal(chunks[0].GetProperty("created").GetInt64(), chunk.GetProperty("created").GetInt64());
            Assert.False(chunk.TryGetProperty("usage", out _));
            var choice = Assert.Single(chunk.GetProperty("choices").EnumerateArray());
            Assert.Equal(0, choice.GetProperty("index").GetInt32());
            Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        }

        Assert.Equal("""{"role":"assistant","content":""}""", Delta(chunks[0]).GetRawText());
        var content = chunks[1..^1];
        Assert.True(content.Count >= 2, $"{content.Count} content chunks");
        Assert.All(content, c => Assert.Equal("content", Assert.Single(Delta(c).EnumerateObject()).Name));
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, Choice(c).GetProperty("finish_reason").ValueKind));
        Assert.Equal("{}", Delta(chunks[^1]).GetRawText());
        Assert.Equal("stop", Choice(chunks[^1]).GetProperty("finish_reason").GetString());

        // The same text a plain reply of the same length carries.
        var text = string.Concat(content.Select(c => Delta(c).GetProperty("content").GetString()));
        Assert.Equal(CompletionText.For(12), text);
        using var plain = await client.ChatAsync("gpt-4o-mini", maxTokens: 100);
        Assert.Equal(text, (await plain.JsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());

        var totals = provider.GetStats().For("gpt-4o-mini").Totals;
        Assert.Equal(2, totals.Accepted);
        Assert.Equal(1, totals.Streamed);
        Assert.Equal(0, totals.StreamBreaks);
        Assert.Equal(2, provider.MaxAcceptedInWindow("gpt-4o-mini", TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task Include_usage_adds_a_last_usage_chunk_and_null_usage_on_the_others()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { CompletionTokens = 50 }));
        using var client = Http.Client(provider);

        using var response = await client.StreamAsync("m", maxTokens: 5, includeUsage: true);
        var events = new List<string>();
        await response.ReadEventsAsync(events);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(Parse).ToList();
        var usageChunk = chunks[^1];
        Assert.Empty(usageChunk.GetProperty("choices").EnumerateArray());
        var usage = usageChunk.GetProperty("usage");
        var promptTokens = PromptTokenCounter.Count("Hello there!");
        Assert.Equal(promptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(promptTokens + 5, usage.GetProperty("total_tokens").GetInt32());
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));

        // max_tokens cut the completion short, as in a plain reply.
        Assert.Equal("length", Choice(chunks[^2]).GetProperty("finish_reason").GetString());
        var text = string.Concat(chunks[1..^2].Select(c => Delta(c).GetProperty("content").GetString()));
        Assert.Equal(CompletionText.For(5), text);

        using var without = await client.StreamAsync("m", maxTokens: 5, includeUsage: false);
        events.Clear();
        await without.ReadEventsAsync(events);
        Assert.All(events[..^1].Select(Parse), c => Assert.False(c.TryGetProperty("usage", out _)));
    }

    [Fact]
    public async Task Stream_chunk_tokens_sets_the_size_of_content_chunks()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { CompletionTokens = 10, StreamChunkTokens = 4 }));
        using var client = Http.Client(provider);
        using var response = await client.StreamAsync("m");
        var events = new List<string>();
        await response.ReadEventsAsync(events);

        // Role, 4 + 4 + 2 tokens of content, finish, [DONE].
        Assert.Equal(6, events.Count);
        var pieces = events[1..4].Select(e => Delta(Parse(e)).GetProperty("content").GetString()).ToList();
        Assert.Equal(CompletionText.For(10), string.Concat(pieces));
        Assert.Equal(CompletionText.For(4), pieces[0]);
    }

    [Fact]
    public async Task A_rejected_stream_request_gets_a_json_error_not_events()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { RequestsPerMinute = 1 }));
        using var client = Http.Client(provider);
        using (var first = await client.StreamAsync("m"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            await first.ReadEventsAsync([]);
        }

        using var limited = await client.StreamAsync("m");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/json", limited.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(limited.Header("retry-after-ms"));
        Assert.Equal("rate_limit_exceeded", (await limited.JsonAsync()).GetProperty("error").GetProperty("code").GetString());
        var totals = provider.GetStats().For("m").Totals;
        Assert.Equal(1, totals.Accepted);
        Assert.Equal(1, totals.Streamed);
        Assert.Equal(1, totals.RateLimited);
    }

    [Fact]
    public async Task A_faulted_stream_request_gets_a_json_5xx()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { Error503Rate = 1 }));
        using var client = Http.Client(provider);
        using var response = await client.StreamAsync("m");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("server_error", (await response.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", "stream_options")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":1}}""", "stream_options")]
    public async Task Bad_stream_fields_get_400_naming_the_parameter(string body, string param)
    {
        await using var provider = await SimulatedProvider.StartNewAsync();
        using var client = Http.Client(provider);
        using var response = await client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (await response.JsonAsync()).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Stream_break_rate_one_aborts_every_stream_after_content_and_before_the_finish()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { CompletionTokens = 8, StreamBreakRate = 1 }));
        using var client = Http.Client(provider);
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.StreamAsync("m");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = new List<string>();
            await Assert.ThrowsAnyAsync<IOException>(() => response.ReadEventsAsync(events));
            Assert.DoesNotContain("[DONE]", events);
            var chunks = events.Select(Parse).ToList();
            Assert.Equal("assistant", Delta(chunks[0]).GetProperty("role").GetString());
            Assert.InRange(chunks.Count - 1, 1, 8);
            Assert.All(chunks[1..], c => Assert.True(Delta(c).TryGetProperty("content", out _)));
        }

        var totals = provider.GetStats().For("m").Totals;
        Assert.Equal(5, totals.StreamBreaks);
        Assert.Equal(0, totals.Accepted);
        Assert.Equal(0, totals.Streamed);
    }

    [Fact]
    public async Task Stream_breaks_repeat_for_a_seed_and_never_happen_at_rate_zero()
    {
        // Per stream: how many content chunks arrived, and whether it broke (no [DONE]); a break may follow the last content chunk.
        async Task<List<(int Chunks, bool Broke)>> RunAsync(double breakRate)
        {
            await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
            {
                CompletionTokens = 6,
                StreamBreakRate = breakRate,
                Seed = 5,
            }));
            using var client = Http.Client(provider);
            var streams = new List<(int Chunks, bool Broke)>();
            for (var i = 0; i < 20; i++)
            {
                using var response = await client.StreamAsync("m");
                var events = new List<string>();
                try
                {
                    await response.ReadEventsAsync(events);
                }
                catch (IOException)
                {
                    // A break: what arrived before it is the result.
                }

                var broke = !events.Contains("[DONE]");
                var chunks = events.Where(e => e != "[DONE]").Select(Parse).ToList();
                var content = chunks.Count(c => Delta(c).TryGetProperty("content", out var text) && text.GetString() != string.Empty);
                Assert.Equal(broke, !chunks.Any(c => Choice(c).GetProperty("finish_reason").ValueKind == JsonValueKind.String));
                Assert.InRange(content, broke ? 1 : 6, 6);
                streams.Add((content, broke));
            }

            var totals = provider.GetStats().For("m").Totals;
            Assert.Equal(streams.Count(s => s.Broke), totals.StreamBreaks);
            Assert.Equal(streams.Count(s => !s.Broke), totals.Streamed);
            Assert.Equal(streams.Count(s => !s.Broke), totals.Accepted);
            return streams;
        }

        var first = await RunAsync(0.5);
        Assert.Equal(first, await RunAsync(0.5));
        Assert.Contains(first, s => s.Broke);
        Assert.Contains(first, s => !s.Broke);
        Assert.All(await RunAsync(0), s => Assert.False(s.Broke));
    }

    [Fact]
    public async Task Stream_settings_round_trip_through_admin_and_bad_values_name_the_field()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { RequestsPerMinute = 60 }));
        using var client = Http.Client(provider);
        using var patch = await client.PatchAsync(
            "admin/models/m",
            new StringContent("""{"streamChunkInterval":"00:00:00.025","streamBreakRate":0.25,"streamChunkTokens":3}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        var settings = provider.GetModelSettings("m");
        Assert.Equal(TimeSpan.FromMilliseconds(25), settings.StreamChunkInterval);
        Assert.Equal(0.25, settings.StreamBreakRate);
        Assert.Equal(3, settings.StreamChunkTokens);
        Assert.Equal(60, settings.RequestsPerMinute);

        using var get = await client.GetAsync("admin/models/m");
        var json = await get.JsonAsync();
        Assert.Equal(TimeSpan.FromMilliseconds(25), TimeSpan.Parse(json.GetProperty("streamChunkInterval").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0.25, json.GetProperty("streamBreakRate").GetDouble());

        using var put = await client.PutAsync("admin/models/m", new StringContent("""{"streamChunkInterval":"00:00:01"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), provider.GetModelSettings("m").StreamChunkInterval);
        Assert.Equal(0, provider.GetModelSettings("m").StreamBreakRate);

        foreach (var (body, field) in new[]
        {
            ("""{"streamBreakRate":1.5}""", nameof(ModelSettings.StreamBreakRate)),
            ("""{"streamChunkInterval":"-00:00:01"}""", nameof(ModelSettings.StreamChunkInterval)),
            ("""{"streamChunkTokens":0}""", nameof(ModelSettings.StreamChunkTokens)),
        })
        {
            using var bad = await client.PatchAsync("admin/models/m", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains(field, (await bad.JsonAsync()).GetProperty("error").GetProperty("message").GetString());
        }

        Assert.Equal(TimeSpan.FromSeconds(1), provider.GetModelSettings("m").StreamChunkInterval);
    }

    [Fact]
    public async Task Latency_comes_before_the_first_event_and_the_interval_before_each_content_chunk()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions
        {
            TimeProvider = time,
            Models = new Dictionary<string, ModelSettings>
            {
                ["m"] = new() { CompletionTokens = 3, Latency = TimeSpan.FromSeconds(5), StreamChunkInterval = TimeSpan.FromSeconds(1) },
            },
        });
        using var client = Http.Client(provider);

        // The fake clock stands still, so nothing may arrive until the test moves it; how long the
        // test waits before moving it only decides how strict the check is, never whether it passes.
        var headers = client.StreamAsync("m");
        await Task.WhenAny(headers, Task.Delay(100));
        Assert.False(headers.IsCompleted);
        using var response = await AdvanceUntilAsync(time, TimeSpan.FromSeconds(5), headers);
        var elapsed = time.GetUtcNow() - time.Start;
        Assert.True(elapsed >= TimeSpan.FromSeconds(5), elapsed.ToString());

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Contains("\"role\"", await reader.ReadLineAsync());
        Assert.Equal(string.Empty, await reader.ReadLineAsync());
        for (var chunk = 1; chunk <= 3; chunk++)
        {
            var next = reader.ReadLineAsync();
            await Task.WhenAny(next, Task.Delay(50));
            Assert.False(next.IsCompleted, $"content chunk {chunk} came before its interval");
            var line = await AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), next);
            Assert.Contains("\"content\"", line);
            Assert.Equal(string.Empty, await reader.ReadLineAsync());
        }

        Assert.True(time.GetUtcNow() - time.Start >= TimeSpan.FromSeconds(8));
        Assert.Contains("\"finish_reason\":\"stop\"", await reader.ReadLineAsync());
    }

    [Fact]
    public async Task The_official_openai_sdk_consumes_the_stream()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions
        {
            ApiKey = "sk-sim",
            Models = new Dictionary<string, ModelSettings> { ["gpt-4o-mini"] = new() { RequestsPerMinute = 600, CompletionTokens = 9 } },
        });
        var options = new OpenAIClientOptions { Endpoint = provider.ApiBaseUrl, RetryPolicy = new ClientRetryPolicy(0) };
        var chat = new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-sim"), options);

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello")], new ChatCompletionOptions { MaxOutputTokenCount = 20 }))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(CompletionText.For(9), text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(9, usage?.OutputTokenCount);
        Assert.Equal(1, provider.GetStats().For("gpt-4o-mini").Totals.Streamed);

        // A break surfaces as an I/O error mid-enumeration, after some text, never as a quiet end.
        provider.UpdateModelSettings("gpt-4o-mini", s => s with { StreamBreakRate = 1 });
        var received = new StringBuilder();
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello")]))
            {
                Assert.Null(update.FinishReason);
                foreach (var part in update.ContentUpdate)
                {
                    received.Append(part.Text);
                }
            }
        });
        Assert.StartsWith(received.ToString(), CompletionText.For(9));
        Assert.NotEqual(string.Empty, received.ToString());
        Assert.Equal(1, provider.GetStats().For("gpt-4o-mini").Totals.StreamBreaks);
    }

    /// <summary>Moves the fake clock a step at a time until the task is done (the server may start its wait after a step).</summary>
    private static async Task<T> AdvanceUntilAsync<T>(FakeTimeProvider time, TimeSpan step, Task<T> task)
    {
        while (!task.IsCompleted)
        {
            time.Advance(step);
            await Task.WhenAny(task, Task.Delay(20));
        }

        return await task;
    }

    private static JsonElement Parse(string data)
    {
        using var document = JsonDocument.Parse(data);
        return document.RootElement.Clone();
    }

    private static JsonElement Choice(JsonElement chunk) => chunk.GetProperty("choices")[0];

    private static JsonElement Delta(JsonElement chunk) => Choice(chunk).GetProperty("delta");
}
