using Xunit.Abstractions;
using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace ActorThrottle.Simulator.Tests;

[Collection(ServerCollection.Name)]
public sealed class LimitsHttpTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Once_the_burst_is_spent_requests_get_429_with_body_and_headers()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
        {
            RequestsPerMinute = 60,
            RequestsPerMinuteBurst = 3,
            TokensPerMinute = 1_000_000,
        }));
        using var client = Http.Client(provider);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await client.ChatAsync("m");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var response = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var error = (await response.JsonAsync()).GetProperty("error");
        Assert.StartsWith("Rate limit reached for requests", error.GetProperty("message").GetString());
        Assert.Equal("requests", error.GetProperty("type").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("1", response.Header("retry-after"));
        Assert.InRange(long.Parse(response.Header("retry-after-ms")!), 1, 1000);
        Assert.Equal("60", response.Header("x-ratelimit-limit-requests"));
        Assert.Equal("0", response.Header("x-ratelimit-remaining-requests"));
        Assert.NotNull(response.Header("x-ratelimit-reset-requests"));
        Assert.Equal("1000000", response.Header("x-ratelimit-limit-tokens"));
        Assert.NotNull(response.Header("x-ratelimit-remaining-tokens"));
        Assert.NotNull(response.Header("x-ratelimit-reset-tokens"));

        var totals = provider.GetStats().For("m").Totals;
        Assert.Equal(3, totals.Accepted);
        Assert.Equal(1, totals.RateLimited);
    }

    [Fact]
    public async Task Token_limits_reject_with_type_tokens()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { TokensPerMinute = 1000 }));
        using var client = Http.Client(provider);
        using var first = await client.ChatAsync("m", maxTokens: 600);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var second = await client.ChatAsync("m", maxTokens: 600);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("tokens", (await second.JsonAsync()).GetProperty("error").GetProperty("type").GetString());

        // About 200 tokens are missing at 1000/min, so about 12 s.
        Assert.InRange(long.Parse(second.Header("retry-after")!), 10, 13);
        using var tooLarge = await client.ChatAsync("m", maxTokens: 5000);
        Assert.Equal(HttpStatusCode.TooManyRequests, tooLarge.StatusCode);
        Assert.StartsWith("Request too large", (await tooLarge.JsonAsync()).GetProperty("error").GetProperty("message").GetString());
        Assert.Null(tooLarge.Header("retry-after"));
    }

    [Theory]
    [InlineData(RateLimitHeaderMode.Full)]
    [InlineData(RateLimitHeaderMode.None)]
    [InlineData(RateLimitHeaderMode.RetryAfterOnly)]
    public async Task Header_modes(RateLimitHeaderMode mode)
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
        {
            RequestsPerMinute = 1,
            TokensPerMinute = 100_000,
            HeaderMode = mode,
        }));
        using var client = Http.Client(provider);
        using var ok = await client.ChatAsync("m");
        using var rejected = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        string[] rateLimitHeaders =
        [
            "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
            "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
        ];
        switch (mode)
        {
            case RateLimitHeaderMode.Full:
                Assert.All(rateLimitHeaders, h => Assert.NotNull(ok.Header(h)));
                Assert.All(rateLimitHeaders, h => Assert.NotNull(rejected.Header(h)));
                Assert.InRange(long.Parse(rejected.Header("retry-after")!), 59, 60);
                Assert.InRange(long.Parse(rejected.Header("retry-after-ms")!), 58_000, 60_000);
                Assert.Null(ok.Header("retry-after"));
                break;
            case RateLimitHeaderMode.None:
                Assert.All(rateLimitHeaders, h => Assert.Null(ok.Header(h)));
                Assert.All(rateLimitHeaders, h => Assert.Null(rejected.Header(h)));
                Assert.Null(rejected.Header("retry-after"));
                Assert.Null(rejected.Header("retry-after-ms"));
                break;
            default:
                Assert.All(rateLimitHeaders, h => Assert.Null(ok.Header(h)));
                Assert.All(rateLimitHeaders, h => Assert.Null(rejected.Header(h)));
                Assert.InRange(long.Parse(rejected.Header("retry-after")!), 59, 60);
                Assert.Null(rejected.Header("retry-after-ms"));
                Assert.Null(ok.Header("retry-after"));
                break;
        }
    }

    [Fact]
    public async Task Insufficient_quota_is_a_429_of_its_own_kind()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { InsufficientQuota = true, RequestsPerMinute = 100 }));
        using var client = Http.Client(provider);
        using var response = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var error = (await response.JsonAsync()).GetProperty("error");
        Assert.Equal("insufficient_quota", error.GetProperty("code").GetString());
        Assert.Equal("insufficient_quota", error.GetProperty("type").GetString());
        Assert.Null(response.Header("retry-after"));
        var totals = provider.GetStats().For("m").Totals;
        Assert.Equal(1, totals.QuotaExceeded);
        Assert.Equal(0, totals.RateLimited);
    }

    [Fact]
    public async Task Charged_rejections_keep_a_client_that_hammers_out()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { RequestsPerMinute = 1, ChargeRejected = true }));
        using var client = Http.Client(provider);
        (await client.ChatAsync("m")).Dispose();
        using var first = await client.ChatAsync("m");
        using var second = await client.ChatAsync("m");

        // Each charged rejection adds a minute's worth of debt (up to one burst).
        Assert.InRange(long.Parse(first.Header("retry-after")!), 119, 120);
        Assert.InRange(long.Parse(second.Header("retry-after")!), 119, 120);
        Assert.Equal(2, provider.GetStats().For("m").Totals.RateLimited);
    }

    [Fact]
    public async Task Limits_change_while_running()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings()));
        using var client = Http.Client(provider);
        for (var i = 0; i < 5; i++)
        {
            using var ok = await client.ChatAsync("m");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        provider.UpdateModelSettings("m", s => s with { RequestsPerMinute = 2 });
        Assert.Equal(2, provider.GetModelSettings("m").RequestsPerMinute);
        using (var a = await client.ChatAsync("m"))
        using (var b = await client.ChatAsync("m"))
        using (var c = await client.ChatAsync("m"))
        {
            Assert.Equal(HttpStatusCode.OK, a.StatusCode);
            Assert.Equal(HttpStatusCode.OK, b.StatusCode);
            Assert.Equal(HttpStatusCode.TooManyRequests, c.StatusCode);
        }

        provider.SetModelSettings("m", new ModelSettings());
        using var again = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Stats_per_second_and_sliding_window_with_a_fake_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        await using var provider = await SimulatedProvider.StartNewAsync(new SimulatorOptions
        {
            TimeProvider = time,
            Models = new Dictionary<string, ModelSettings> { ["m"] = new() { RequestsPerSecond = 3 } },
        });
        using var client = Http.Client(provider);
        for (var i = 0; i < 4; i++)
        {
            (await client.ChatAsync("m")).Dispose();
        }

        time.Advance(TimeSpan.FromSeconds(1.5));
        for (var i = 0; i < 2; i++)
        {
            (await client.ChatAsync("m")).Dispose();
        }

        var stats = provider.GetStats();
        var model = stats.For("m");
        Assert.Equal(new SecondStats(0, time.Start.ToUnixTimeSeconds(), model.PerSecond[0].Counters), model.PerSecond[0]);
        Assert.Equal(3, model.PerSecond[0].Counters.Accepted);
        Assert.Equal(1, model.PerSecond[0].Counters.RateLimited);
        Assert.Equal(1, model.PerSecond[1].Second);
        Assert.Equal(2, model.PerSecond[1].Counters.Accepted);
        Assert.Equal(5, stats.Totals.Accepted);
        Assert.Equal(TimeSpan.FromSeconds(1.5), stats.Elapsed);
        Assert.Equal(3, provider.MaxAcceptedInWindow("m", TimeSpan.FromSeconds(1)));
        Assert.Equal(3, provider.MaxAcceptedInWindow("m", TimeSpan.FromSeconds(1.5)));
        Assert.Equal(5, provider.MaxAcceptedInWindow("m", TimeSpan.FromSeconds(1.6)));
        Assert.Equal(0, provider.MaxAcceptedInWindow("other", TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Under_load_no_window_exceeds_rate_times_window_plus_burst()
    {
        const double rate = 400;
        const double burst = 20;
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
        {
            RequestsPerSecond = rate,
            RequestsPerSecondBurst = burst,
        }));
        using var client = Http.Client(provider);

        // Open the connections and JIT the path first, so the timed part is steady load.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            for (var i = 0; i < 20; i++)
            {
                (await client.ChatAsync("warm-up")).Dispose();
            }
        }));
        var ok = 0;
        var limited = 0;
        var until = DateTime.UtcNow.AddSeconds(1.2);
        var workers = Enumerable.Range(0, 8).Select(async _ =>
        {
            // Bounded in count as well as in time.
            for (var i = 0; i < 2000 && DateTime.UtcNow < until; i++)
            {
                using var response = await client.ChatAsync("m");
                Interlocked.Increment(ref response.StatusCode == HttpStatusCode.OK ? ref ok : ref limited);
            }
        });
        await Task.WhenAll(workers);

        var totals = provider.GetStats().For("m").Totals;
        output.WriteLine($"{ok} accepted, {limited} rejected in about 1.2 s");
        Assert.Equal(ok, totals.Accepted);
        Assert.Equal(limited, totals.RateLimited);
        Assert.True(ok > 0);
        foreach (var seconds in new[] { 0.1, 0.5, 1.0 })
        {
            Assert.True(
                provider.MaxAcceptedInWindow("m", TimeSpan.FromSeconds(seconds)) <= rate * seconds + burst,
                $"window {seconds}s");
        }
    }

    [Theory]
    [InlineData(RateLimitHeaderMode.Azure, "x-ratelimit-remaining-requests", "retry-after-ms")]
    [InlineData(RateLimitHeaderMode.Anthropic, "anthropic-ratelimit-requests-reset", "retry-after")]
    [InlineData(RateLimitHeaderMode.IetfDraft7, "RateLimit-Policy", "retry-after")]
    [InlineData(RateLimitHeaderMode.IetfStructured, "RateLimit", "retry-after")]
    [InlineData(RateLimitHeaderMode.IetfSeparate, "RateLimit-Reset", "retry-after")]
    [InlineData(RateLimitHeaderMode.RetryAfterDate, null, "retry-after")]
    public async Task Every_dialect_reaches_the_wire_on_a_success_and_a_429(RateLimitHeaderMode mode, string? onSuccess, string on429)
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
        {
            HeaderMode = mode,
            Limits = [LimitSyntax.ParseLimit("fixed-window:1/1m")],
        }));
        using var client = Http.Client(provider);
        using var ok = await client.ChatAsync("m");
        using var rejected = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        if (onSuccess is not null)
        {
            Assert.NotNull(ok.Header(onSuccess));
        }

        Assert.Null(ok.Header("retry-after"));
        Assert.NotNull(rejected.Header(on429));
        Assert.Null(rejected.Header("x-ratelimit-limit-requests"));
    }

    [Fact]
    public async Task A_concurrency_cap_rejects_while_the_slots_are_busy_with_no_retry_hint_and_frees_them_when_answered()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
        {
            Latency = TimeSpan.FromSeconds(2),
            Limits = [LimitSyntax.ParseLimit("concurrency:1")],
        }));
        using var client = Http.Client(provider);
        var slow = client.ChatAsync("m");
        // Once the first is admitted it holds the only slot for its 2 s latency.
        for (var i = 0; i < 200 && provider.GetStats().Models.GetValueOrDefault("m")?.Totals.Accepted != 1; i++)
        {
            await Task.Delay(10);
        }

        var rejected = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Null(rejected.Header("retry-after"));
        Assert.Contains("concurrent", (await rejected.JsonAsync()).GetProperty("error").GetProperty("message").GetString());
        rejected.Dispose();
        using (var first = await slow)
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var after = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_scheduled_529_outage_answers_anthropic_overloaded_errors()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
        {
            Schedule = LimitSyntax.ParseSchedule("0s=outage:529,1h=1"),
        }));
        using var client = Http.Client(provider);
        using var response = await client.ChatAsync("m");
        Assert.Equal(529, (int)response.StatusCode);
        var error = (await response.JsonAsync()).GetProperty("error");
        Assert.Equal("overloaded_error", error.GetProperty("type").GetString());
        Assert.Equal(1, provider.GetStats().Models["m"].Totals.ServerErrors);
    }
}
