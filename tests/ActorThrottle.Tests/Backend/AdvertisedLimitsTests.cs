using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>The rate a provider advertises, from each dialect's facts (<see cref="RateLimitHints.Advertised"/>).</summary>
public sealed class AdvertisedLimitsTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public void Nothing_said_advertises_nothing()
    {
        Assert.Null(RateLimitHints.Advertised(RateLimitInfo.None));
        Assert.Null(RateLimitHints.Advertised(new RateLimitInfo { RetryAfter = Second, RemainingRequests = 0, ResetRequests = Second }));
    }

    [Fact]
    public void A_policy_advertises_quota_over_window()
    {
        var info = new RateLimitInfo { Dialect = RateLimitDialect.IetfDraft7, Policies = [new RateLimitPolicy(null, 20, Second)] };
        var advertised = RateLimitHints.Advertised(info)!;
        Assert.Equal(20, advertised.RequestsPerSecond);
        Assert.Null(advertised.TokensPerMinute);
        Assert.Contains("RateLimit-Policy", advertised.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Of_several_policies_the_tightest_sustained_rate_wins()
    {
        var info = new RateLimitInfo
        {
            Dialect = RateLimitDialect.IetfStructured,
            Policies = [new RateLimitPolicy("s", 20, Second), new RateLimitPolicy("m", 600, TimeSpan.FromMinutes(1)), new RateLimitPolicy("c", 2, Second, RateLimitPolicy.ConcurrentRequests)],
        };
        Assert.Equal(10, RateLimitHints.Advertised(info)!.RequestsPerSecond);
    }

    [Theory]
    [InlineData(60, 0, 60_000, 0.99166)]      // OpenAI 60 RPM, empty bucket, full again in 60 s
    [InlineData(100, 0, 1_000, 99.5)]         // the simulator's 100/s bucket, empty
    [InlineData(100, 80, 200, 97.5)]          // 20 spent, 200 ms to full again
    [InlineData(5000, 4000, 12_000, 83.29)]   // 5000 RPM: 1000 spent refill in 12 s
    [InlineData(3, 0, 3_000, 0.8333)]         // a limit under the minimum deficit: only the whole of it counts
    public void A_bucket_advertises_its_refill_rate_from_limit_remaining_and_reset(long limit, long remaining, double resetMs, double expected)
    {
        var info = new RateLimitInfo
        {
            Dialect = RateLimitDialect.OpenAI, LimitRequests = limit, RemainingRequests = remaining, ResetRequests = TimeSpan.FromMilliseconds(resetMs),
        };
        Assert.Equal(expected, RateLimitHints.Advertised(info)!.RequestsPerSecond!.Value, 2);
    }

    [Theory]
    [InlineData(100, 99, 10)]   // one spent: ±1 of rounding is all of it
    [InlineData(100, 91, 90)]
    [InlineData(3, 1, 600)]
    [InlineData(100, 0, 0)]     // a reset of zero says nothing about a rate
    public void Too_little_spent_or_no_reset_advertises_no_request_rate(long limit, long remaining, double resetMs)
    {
        var info = new RateLimitInfo
        {
            Dialect = RateLimitDialect.OpenAI, LimitRequests = limit, RemainingRequests = remaining, ResetRequests = TimeSpan.FromMilliseconds(resetMs),
        };
        Assert.Null(RateLimitHints.Advertised(info));
    }

    [Fact]
    public void OpenAI_and_Anthropic_token_limits_are_per_minute()
    {
        var openAi = RateLimitHints.Advertised(new RateLimitInfo { Dialect = RateLimitDialect.OpenAI, LimitTokens = 30_000 })!;
        Assert.Equal(30_000, openAi.TokensPerMinute);
        Assert.Null(openAi.RequestsPerSecond);
        Assert.Contains("x-ratelimit-limit-tokens", openAi.Source, StringComparison.Ordinal);
        var anthropic = RateLimitHints.Advertised(new RateLimitInfo { Dialect = RateLimitDialect.Anthropic, LimitTokens = 40_000 })!;
        Assert.Equal(40_000, anthropic.TokensPerMinute);
        Assert.Contains("anthropic", anthropic.Source, StringComparison.Ordinal);
    }
}
