using System.Net;
using System.Text.Json;

namespace ActorThrottle.Simulator.Tests;

[Collection(ServerCollection.Name)]
public sealed class ChatCompletionsHttpTests
{
    [Fact]
    public async Task Success_has_a_realistic_body_and_headers()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("gpt-4o-mini", new ModelSettings
        {
            RequestsPerMinute = 600,
            TokensPerMinute = 100_000,
            CompletionTokens = 12,
        }));
        using var client = Http.Client(provider);
        const string prompt = "Write one sentence about token buckets.";

        using var response = await client.ChatAsync("gpt-4o-mini", prompt, maxTokens: 100);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.JsonAsync();
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("gpt-4o-mini", body.GetProperty("model").GetString());
        Assert.InRange(body.GetProperty("created").GetInt64(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.False(string.IsNullOrWhiteSpace(choice.GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        var promptTokens = PromptTokenCounter.Count(prompt);
        Assert.Equal(promptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(12, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(promptTokens + 12, usage.GetProperty("total_tokens").GetInt32());

        Assert.Equal("600", response.Header("x-ratelimit-limit-requests"));
        Assert.Equal("599", response.Header("x-ratelimit-remaining-requests"));
        Assert.Matches("^[0-9.]+(ms|s)$", response.Header("x-ratelimit-reset-requests"));
        Assert.Equal("100000", response.Header("x-ratelimit-limit-tokens"));
        Assert.Equal((100_000 - promptTokens - 100).ToString(), response.Header("x-ratelimit-remaining-tokens"));
        Assert.NotNull(response.Header("x-ratelimit-reset-tokens"));
        Assert.Null(response.Header("retry-after"));

        var stats = provider.GetStats().For("gpt-4o-mini").Totals;
        Assert.Equal(1, stats.Accepted);
        Assert.Equal(promptTokens + 100, stats.TokensCharged);
    }

    [Fact]
    public async Task Max_tokens_caps_the_completion_and_array_content_counts()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions { DefaultModel = new ModelSettings { CompletionTokens = 50 } });
        using var client = Http.Client(provider);
        var body = JsonSerializer.Serialize(new
        {
            model = "any",
            messages = new object[]
            {
                new { role = "system", content = "Be brief." },
                new { role = "user", content = new[] { new { type = "text", text = "Hello world" } } },
            },
            max_completion_tokens = 5,
        });
        using var response = await client.PostAsync("v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var json = await response.JsonAsync();
        Assert.Equal(5, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(PromptTokenCounter.Count("Be brief.") + PromptTokenCounter.Count("Hello world"), json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("length", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Bad_requests_get_400_with_an_error_body()
    {
        await using var provider = await SimulatedProvider.StartNewAsync();
        using var client = Http.Client(provider);
        using var notJson = await client.PostAsync("v1/chat/completions", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal("invalid_request_error", (await notJson.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
        using var noMessages = await client.PostAsync("v1/chat/completions", new StringContent("""{"model":"m","messages":[]}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, noMessages.StatusCode);
        Assert.Equal("messages", (await noMessages.JsonAsync()).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Models_lists_configured_models()
    {
        var options = new SimulatorOptions
        {
            Models = new Dictionary<string, ModelSettings> { ["gpt-4o-mini"] = new(), ["gpt-4.1"] = new() },
        };
        await using var provider = await SimulatedProvider.StartNewAsync(options);
        using var client = Http.Client(provider);
        using var response = await client.GetAsync("v1/models");
        var json = await response.JsonAsync();
        Assert.Equal("list", json.GetProperty("object").GetString());
        var ids = json.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal(["gpt-4.1", "gpt-4o-mini"], ids);
        Assert.All(json.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));
    }

    [Fact]
    public async Task Unknown_models_are_served_with_defaults_or_rejected()
    {
        await using var serving = await SimulatedProvider.StartNewAsync(new SimulatorOptions { DefaultModel = new ModelSettings { RequestsPerMinute = 7 } });
        using (var client = Http.Client(serving))
        {
            using var response = await client.ChatAsync("made-up");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("7", response.Header("x-ratelimit-limit-requests"));
        }

        await using var rejecting = await SimulatedProvider.StartNewAsync(new SimulatorOptions { UnknownModels = UnknownModelPolicy.Reject });
        using (var client = Http.Client(rejecting))
        {
            using var response = await client.ChatAsync("made-up");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("model_not_found", (await response.JsonAsync()).GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task An_api_key_is_required_when_configured_and_never_echoed()
    {
        const string key = "sk-test-secret-123456";
        const string wrong = "sk-wrong-key-987654";
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions { ApiKey = key });

        using (var anonymous = Http.Client(provider))
        {
            using var response = await anonymous.ChatAsync("m");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("invalid_api_key", (await response.JsonAsync()).GetProperty("error").GetProperty("code").GetString());
            using var models = await anonymous.GetAsync("v1/models");
            Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        }

        using (var wrongClient = Http.Client(provider, apiKey: wrong))
        {
            using var response = await wrongClient.ChatAsync("m");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain(wrong, text);
            Assert.DoesNotContain("987654", text);
            Assert.DoesNotContain(key, text);
        }

        using (var authorized = Http.Client(provider, apiKey: key))
        {
            using var response = await authorized.ChatAsync("m");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
