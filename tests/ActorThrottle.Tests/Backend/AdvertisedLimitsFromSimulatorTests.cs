using System.Text;
using ActorThrottle.Backend;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Backend;

/// <summary>
/// <see cref="RateLimitHints.Advertised"/> on the headers the simulator really sends for each provider shape of the
/// benchmark matrix (tests/ActorThrottle.Benchmarks/Matrix.cs), on a fake clock: requests are sent at a fixed pace over
/// loopback and every response's headers are parsed as the backend parses them.
/// </summary>
public sealed class AdvertisedLimitsFromSimulatorTests
{
    private static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Sends <paramref name="count"/> requests <paramref name="pace"/> per second apart; what each response advertised.</summary>
    private static async Task<List<AdvertisedLimits?>> Capture(S.RateLimitHeaderMode headers, double pace, int count, params string[] limits)
    {
        var time = new FakeTimeProvider(Start);
        await using var provider = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions
        {
            TimeProvider = time,
            Models = new Dictionary<string, S.ModelSettings>
            {
                ["m"] = new() { HeaderMode = headers, Limits = limits.Select(S.LimitSyntax.ParseLimit).ToList(), Seed = 42 },
            },
        });
        using var client = new HttpClient { BaseAddress = provider.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
        var seen = new List<AdvertisedLimits?>();
        for (var i = 0; i < count; i++)
        {
            using var body = new StringContent("""{"model":"m","messages":[{"role":"user","content":"Hello there!"}]}""", Encoding.UTF8, "application/json");
            using var response = await client.PostAsync("v1/chat/completions", body);
            var info = RateLimitHeaders.Parse(
                name => response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null, time.GetUtcNow());
            seen.Add(RateLimitHints.Advertised(info));
            time.Advance(TimeSpan.FromTicks((long)(TimeSpan.TicksPerSecond / pace)));
        }
        return seen;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    [Fact]
    public async Task An_OpenAI_token_bucket_advertises_its_rate_once_drawn_down()
    {
        // Twice the limit for 1.5 s: the bucket empties, then 429s.
        var seen = await Capture(S.RateLimitHeaderMode.Full, 200, 300, "token-bucket:100/1s");
        var rates = seen.Select(a => a?.RequestsPerSecond).OfType<double>().ToList();
        Assert.True(rates.Count > 200, $"only {rates.Count} responses advertised a rate");
        Assert.All(rates, r => Assert.InRange(r, 90, 101));
        Assert.InRange(Median(rates), 97, 101);
    }

    [Fact]
    public async Task A_bucket_that_charges_rejections_advertises_a_lower_bound_while_in_debt()
    {
        // Charged 429s push the bucket below empty; remaining stays 0 while the reset grows past a full refill.
        var seen = await Capture(S.RateLimitHeaderMode.Full, 200, 300, "token-bucket:100/1s,charged");
        var rates = seen.Select(a => a?.RequestsPerSecond).OfType<double>().ToList();
        Assert.True(rates.Count > 200, $"only {rates.Count} responses advertised a rate");
        Assert.All(rates, r => Assert.InRange(r, 45, 101));
        Assert.InRange(rates.Max(), 97, 101);
    }

    [Fact]
    public async Task A_token_bucket_paced_under_its_rate_stays_full_and_advertises_nothing()
    {
        var seen = await Capture(S.RateLimitHeaderMode.Full, 50, 100, "token-bucket:100/1s");
        Assert.All(seen, Assert.Null);
    }

    [Fact]
    public async Task A_GCRA_with_separate_IETF_fields_advertises_a_lower_bound_near_its_rate()
    {
        var seen = await Capture(S.RateLimitHeaderMode.IetfSeparate, 200, 300, "gcra:100/1s,burst=5");
        var rates = seen.Select(a => a?.RequestsPerSecond).OfType<double>().ToList();
        Assert.NotEmpty(rates);
        // RateLimit-Reset rounds up to whole seconds: the estimate never exceeds the rate.
        Assert.All(rates, r => Assert.InRange(r, 90, 100));
    }

    [Theory]
    [InlineData(S.RateLimitHeaderMode.IetfDraft7, "fixed-window:100/1s,start=first-hit,charged", 100)]
    [InlineData(S.RateLimitHeaderMode.IetfStructured, "sliding-window:1000/10s", 100)]
    public async Task IETF_policies_advertise_quota_over_window_on_every_response(S.RateLimitHeaderMode headers, string limit, double rps)
    {
        var seen = await Capture(headers, 200, 300, limit);
        Assert.All(seen, a => Assert.Equal(rps, a!.RequestsPerSecond));
        Assert.All(seen, a => Assert.Contains("RateLimit-Policy", a!.Source, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("fixed-window:100/1s", 100)]
    [InlineData("fixed-window:120/6s", 20)]
    public async Task A_fixed_window_with_OpenAI_headers_advertises_its_rate_in_the_median_when_paced_at_it(string limit, double rps)
    {
        // One response gives count-so-far over time-left (a fixed window is no bucket); paced at the limit, the median is it.
        var seen = await Capture(S.RateLimitHeaderMode.Full, rps, (int)(rps * 12), limit);
        var rates = seen.Select(a => a?.RequestsPerSecond).OfType<double>().ToList();
        // Samples before the minimum deficit are skipped, so the median leans to the window's later, higher part.
        Assert.InRange(Median(rates), rps * 0.85, rps * 1.25);
    }

    [Fact]
    public async Task Anthropic_headers_advertise_the_tokens_limit_per_minute_and_a_request_rate_bound()
    {
        var seen = await Capture(S.RateLimitHeaderMode.Anthropic, 400, 300, "token-bucket:200/1s", "token-bucket:6000000/1m,unit=tokens");
        Assert.All(seen, a => Assert.Equal(6_000_000, a!.TokensPerMinute));
        var rates = seen.Select(a => a?.RequestsPerSecond).OfType<double>().ToList();
        Assert.NotEmpty(rates);
        // Instants are rounded up to the second: each is a lower bound of the 200/s bucket, the largest near it.
        Assert.All(rates, r => Assert.InRange(r, 1, 200.01));
        Assert.InRange(rates.Max(), 180, 200.01);
        Assert.All(seen.Where(a => a?.RequestsPerSecond is not null), a => Assert.Contains("at least", a!.Source, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(S.RateLimitHeaderMode.Azure, "fixed-window:1000/10s")]
    [InlineData(S.RateLimitHeaderMode.RetryAfterDate, "sliding-log:100/1s")]
    [InlineData(S.RateLimitHeaderMode.None, "concurrency:20")]
    [InlineData(S.RateLimitHeaderMode.None, "token-bucket:100/1s,burst=10")]
    [InlineData(S.RateLimitHeaderMode.RetryAfterOnly, "token-bucket:100/1s")]
    public async Task Dialects_without_a_limit_advertise_nothing(S.RateLimitHeaderMode headers, string limit)
    {
        var seen = await Capture(headers, 200, 200, limit);
        Assert.All(seen, Assert.Null);
    }
}
