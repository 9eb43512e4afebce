using ActorThrottle.Configuration;
using ActorThrottle.Hosting;
using ActorThrottle.Messages;
using ActorThrottle.Tokens;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

/// <summary><c>tokens-burst</c>: the token bucket's capacity, its default, and how it sits with <c>TooLarge</c>.</summary>
public sealed class TokensBurstTests
{
    [Fact]
    public void Tokens_burst_is_read_per_model_over_the_defaults()
    {
        var settings = TestConfig.Parse("""
            actor-throttle {
              defaults { tokens-per-minute = 600000, tokens-burst = 5000 }
              models {
                "gpt-4.1" { tokens-burst = 20000 }
                mini { tokens-per-minute = 120000 }
              }
            }
            """);
        Assert.Equal(5000, settings.Defaults.TokensBurst);
        Assert.Equal(20000, settings.ForModel("gpt-4.1")!.TokenBucketCapacity);
        Assert.Equal(5000, settings.ForModel("mini")!.TokenBucketCapacity);
        Assert.Empty(settings.UnknownKeys);
    }

    [Theory]
    [InlineData(0, 0, 0)]             // no token limit: no bucket, whatever tokens-burst says
    [InlineData(0, 7000, 0)]
    [InlineData(1_500_000, 0, 25_000)] // 0: one second of tokens-per-minute
    [InlineData(90_000, 0, 1_500)]
    [InlineData(59, 0, 1)]             // rounded up, never 0
    [InlineData(61, 0, 2)]
    [InlineData(1_500_000, 50_000, 50_000)]
    [InlineData(6_000, 100_000, 100_000)] // larger than a minute is the user's call
    public void The_capacity_is_tokens_burst_or_one_second_of_the_budget(long tokensPerMinute, long tokensBurst, long capacity)
    {
        var model = TestConfig.Parse("").Defaults with { TokensPerMinute = tokensPerMinute, TokensBurst = tokensBurst };
        Assert.Equal(capacity, model.TokenBucketCapacity);
        Assert.Equal(1, ModelSettings.DefaultTokensBurstSeconds);
    }

    [Fact]
    public void A_request_costing_more_than_the_burst_but_not_more_than_the_budget_is_still_admitted()
    {
        // TooLarge stays decided by tokens-per-minute: the token bucket lets a larger request through when full.
        var settings = TestConfig.Parse("").Defaults with { TokensPerMinute = 6_000, TokensBurst = 100, DefaultMaxTokens = 10 };
        var request = new ChatRequest("m", [ChatMessage.User(string.Join(' ', Enumerable.Repeat("token", 500)))]);
        var cost = RequestCost.Of(request, settings);
        Assert.True(cost.Total > settings.TokenBucketCapacity);
        Assert.True(cost.Total <= settings.TokensPerMinute);
        Assert.Null(cost.TooLargeReason(settings));
        Assert.NotNull(cost.TooLargeReason(settings with { TokensPerMinute = cost.Total - 1 }));
    }

    [Fact]
    public void Hosting_options_carry_tokens_burst_into_hocon()
    {
        var options = new ActorThrottleOptions();
        options.Defaults.TokensPerMinute = 120_000;
        options.Defaults.TokensBurst = 4_000;
        options.Model("gpt-4.1", m => m.TokensBurst = 9_000);
        var settings = ActorThrottleSettings.FromConfig(options.ToConfig(), _ => null);
        Assert.Equal(4_000, settings.Defaults.TokenBucketCapacity);
        Assert.Equal(9_000, settings.ForModel("gpt-4.1")!.TokenBucketCapacity);
    }
}
