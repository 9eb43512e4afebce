using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace ActorThrottle.Simulator.Tests;

[Collection(ServerCollection.Name)]
public sealed class AdminAndLifecycleHttpTests
{
    [Fact]
    public async Task Admin_put_sets_limit_shapes_schedules_and_dialects_as_json()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings()));
        using var client = Http.Client(provider);
        using var put = await client.PutAsync(
            "admin/models/m",
            new StringContent("""
                {"headerMode":"ietfStructured",
                 "limits":[{"algorithm":"fixedWindow","quota":1,"window":"00:01:00","windowStart":"firstHit","name":"per-minute"}],
                 "schedule":[{"at":"01:00:00","factor":0.5}]}
                """, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var settings = provider.GetModelSettings("m");
        Assert.Equal(LimitAlgorithm.FixedWindow, Assert.Single(settings.Limits).Algorithm);
        Assert.Equal(WindowStart.FirstHit, settings.Limits[0].WindowStart);
        Assert.Equal(0.5, Assert.Single(settings.Schedule).Factor);
        using (var ok = await client.ChatAsync("m"))
        {
            Assert.Equal("\"per-minute\";r=0;t=60", ok.Header("RateLimit"));
        }

        using var limited = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        using var bad = await client.PutAsync("admin/models/m", new StringContent("""{"limits":[{"algorithm":"gcra","quota":0}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("Limits[0].Quota", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Admin_put_replaces_settings_and_patch_merges_them()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { TokensPerMinute = 50_000 }));
        using var client = Http.Client(provider);
        using var put = await client.PutAsync(
            "admin/models/m",
            new StringContent("""{"requestsPerMinute":2,"headerMode":"retryAfterOnly","tokenAccounting":"reconcile"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var settings = provider.GetModelSettings("m");
        Assert.Equal(2, settings.RequestsPerMinute);
        Assert.Equal(0, settings.TokensPerMinute);
        Assert.Equal(RateLimitHeaderMode.RetryAfterOnly, settings.HeaderMode);
        Assert.Equal(TokenAccounting.Reconcile, settings.TokenAccounting);

        (await client.ChatAsync("m")).Dispose();
        (await client.ChatAsync("m")).Dispose();
        using (var limited = await client.ChatAsync("m"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            // Two per minute, both spent: the next one fits in 30 s, rounded up to whole seconds.
            Assert.InRange(long.Parse(limited.Header("retry-after")!), 29, 30);
        }

        using var patch = await client.PatchAsync("admin/models/m", new StringContent("""{"RequestsPerMinute":600}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        settings = provider.GetModelSettings("m");
        Assert.Equal(600, settings.RequestsPerMinute);
        Assert.Equal(RateLimitHeaderMode.RetryAfterOnly, settings.HeaderMode);

        using var get = await client.GetAsync("admin/models/m");
        Assert.Equal(600, (await get.JsonAsync()).GetProperty("requestsPerMinute").GetDouble());
    }

    [Fact]
    public async Task Admin_rejects_invalid_settings_naming_the_field()
    {
        await using var provider = await SimulatedProvider.StartNewAsync();
        using var client = Http.Client(provider);
        using var response = await client.PutAsync("admin/models/m", new StringContent("""{"hangRate":3}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HangRate", (await response.JsonAsync()).GetProperty("error").GetProperty("message").GetString());
        using var notJson = await client.PutAsync("admin/models/m", new StringContent("[1]", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
    }

    [Fact]
    public async Task Admin_stats_return_the_snapshot_and_can_be_reset()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("org/model", new ModelSettings { RequestsPerMinute = 1 }));
        using var client = Http.Client(provider);
        (await client.ChatAsync("org/model")).Dispose();
        (await client.ChatAsync("org/model")).Dispose();
        using var response = await client.GetAsync("admin/stats");
        var json = await response.JsonAsync();
        var model = json.GetProperty("models").GetProperty("org/model");
        Assert.Equal(1, model.GetProperty("totals").GetProperty("accepted").GetInt64());
        Assert.Equal(1, model.GetProperty("totals").GetProperty("rateLimited").GetInt64());
        Assert.Equal(1, model.GetProperty("totals").GetProperty("rejected429").GetInt64());
        Assert.Equal(1, model.GetProperty("perSecond")[0].GetProperty("counters").GetProperty("accepted").GetInt64());
        Assert.Equal(1, json.GetProperty("totals").GetProperty("accepted").GetInt64());

        var roundTrip = JsonSerializer.Deserialize<SimulatorStats>(JsonSerializer.Serialize(provider.GetStats()));
        Assert.Equal(1, roundTrip!.Models["org/model"].Totals.Accepted);

        using var settings = await client.GetAsync("admin/models/org/model");
        Assert.Equal(1, (await settings.JsonAsync()).GetProperty("requestsPerMinute").GetDouble());

        using var reset = await client.DeleteAsync("admin/stats");
        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(0, provider.GetStats().Totals.Accepted);
    }

    [Fact]
    public async Task Stops_and_starts_again_on_the_same_port()
    {
        // A clock that stands still: no token comes back while the server restarts, however slow the machine is.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var provider = new SimulatedProvider(Http.OneModel("m", new ModelSettings { RequestsPerMinute = 600 }) with { TimeProvider = clock });
        Assert.False(provider.IsRunning);
        Assert.Throws<InvalidOperationException>(() => provider.BaseUrl);
        await provider.StartAsync();
        var port = provider.Port;
        Assert.NotEqual(0, port);
        Assert.Equal($"http://127.0.0.1:{port}/", provider.BaseUrl.ToString());
        Assert.Equal($"http://127.0.0.1:{port}/v1", provider.ApiBaseUrl.ToString());
        using var client = Http.Client(provider);
        using (var first = await client.ChatAsync("m"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        await provider.StopAsync();
        Assert.False(provider.IsRunning);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.ChatAsync("m"));

        await provider.StartAsync();
        Assert.True(provider.IsRunning);
        Assert.Equal(port, provider.Port);
        using (var again = await client.ChatAsync("m"))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);

            // Settings, buckets and statistics survive the restart.
            Assert.Equal("598", again.Header("x-ratelimit-remaining-requests"));
        }

        Assert.Equal(2, provider.GetStats().For("m").Totals.Accepted);
        await provider.StartAsync();
        Assert.Equal(port, provider.Port);
    }

    [Fact]
    public async Task The_official_openai_sdk_reads_replies_and_429s()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions
        {
            ApiKey = "sk-sim",
            Models = new Dictionary<string, ModelSettings> { ["gpt-4o-mini"] = new() { RequestsPerMinute = 1, CompletionTokens = 8 } },
        });
        var options = new OpenAIClientOptions { Endpoint = provider.ApiBaseUrl, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) };
        var chat = new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-sim"), options);

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello")], new ChatCompletionOptions { MaxOutputTokenCount = 20 });
        Assert.Equal(8, completion.Usage.OutputTokenCount);
        Assert.Equal(PromptTokenCounter.Count("Hello"), completion.Usage.InputTokenCount);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.False(string.IsNullOrEmpty(completion.Content[0].Text));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("Hello")]));
        Assert.Equal(429, error.Status);
        var raw = error.GetRawResponse()!;
        Assert.True(raw.Headers.TryGetValue("retry-after-ms", out _));
        Assert.Contains("rate_limit_exceeded", raw.Content.ToString());
    }
}
