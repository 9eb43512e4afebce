using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>What each dialect says, read completely: quotas, windows, and which delta values are bounds.</summary>
public sealed class RateLimitDialectParsingTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static RateLimitInfo Parse(params (string Name, string Value)[] headers)
    {
        var map = headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return RateLimitHeaders.Parse(name => map.TryGetValue(name, out var v) ? v : null, Now);
    }

    [Fact]
    public void No_headers_is_no_dialect_and_no_rate_header()
    {
        var info = Parse(("retry-after", "3"));
        Assert.Equal(RateLimitDialect.None, info.Dialect);
        Assert.False(info.HasRateHeaders);
        Assert.Empty(info.Policies);
    }

    [Fact]
    public void Draft7_policy_gives_quota_and_window_of_the_reported_limit()
    {
        var info = Parse(("RateLimit", "limit=20, remaining=0, reset=1"), ("RateLimit-Policy", "20;w=1, 600;w=60"));
        Assert.Equal(RateLimitDialect.IetfDraft7, info.Dialect);
        Assert.Equal(20, info.LimitRequests);
        Assert.Equal(Second, info.WindowRequests);
        Assert.Equal(0, info.RemainingRequests);
        Assert.Equal(Second, info.ResetRequests);
        Assert.Equal(Second, info.ResetRequestsGranularity);
        Assert.Equal([new RateLimitPolicy(null, 20, Second), new RateLimitPolicy(null, 600, TimeSpan.FromMinutes(1))], info.Policies);
    }

    [Fact]
    public void Draft7_limit_picks_the_policy_with_that_quota_even_when_listed_second()
    {
        var info = Parse(("RateLimit", "limit=600, remaining=3, reset=41"), ("RateLimit-Policy", "20;w=1, 600;w=60"));
        Assert.Equal(600, info.LimitRequests);
        Assert.Equal(TimeSpan.FromMinutes(1), info.WindowRequests);
    }

    [Fact]
    public void Structured_policies_are_matched_to_the_RateLimit_item_by_name()
    {
        var info = Parse(
            ("RateLimit-Policy", "\"burst\";q=100;w=60, \"day\";q=1000;w=86400;qu=\"requests\", \"conc\";q=8;w=1;qu=\"concurrent-requests\""),
            ("RateLimit", "\"day\";r=0;t=30"));
        Assert.Equal(RateLimitDialect.IetfStructured, info.Dialect);
        Assert.Equal(1000, info.LimitRequests);
        Assert.Equal(TimeSpan.FromDays(1), info.WindowRequests);
        Assert.Equal(TimeSpan.FromSeconds(30), info.ResetRequests);
        Assert.Equal(3, info.Policies.Count);
        Assert.Equal(new RateLimitPolicy("burst", 100, TimeSpan.FromMinutes(1)), info.Policies[0]);
        Assert.Equal(RateLimitPolicy.ConcurrentRequests, info.Policies[2].Unit);
    }

    [Fact]
    public void An_escaped_quote_in_a_policy_name_is_unescaped()
    {
        var info = Parse(("RateLimit-Policy", "\"a\\\"b\";q=5;w=1"), ("RateLimit", "\"a\\\"b\";r=1;t=1"));
        Assert.Equal("a\"b", info.Policies[0].Name);
        Assert.Equal(5, info.LimitRequests);
    }

    [Theory]
    [InlineData("100;w=0")]
    [InlineData("100")]
    [InlineData("\"p\";w=60")]
    [InlineData("-3;w=1")]
    [InlineData("x;w=1")]
    public void Policies_without_a_quota_or_a_positive_window_are_skipped(string policy) =>
        Assert.Empty(Parse(("RateLimit-Policy", policy)).Policies);

    [Fact]
    public void Separate_fields_give_the_limit_and_mark_the_reset_as_a_bound()
    {
        var info = Parse(("RateLimit-Limit", "100"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1"));
        Assert.Equal(RateLimitDialect.IetfSeparate, info.Dialect);
        Assert.Equal(100, info.LimitRequests);
        Assert.Null(info.WindowRequests);
        Assert.Equal(Second, info.ResetRequestsGranularity);
    }

    [Fact]
    public void A_draft3_RateLimit_Limit_list_gives_its_quota_and_policies()
    {
        var info = Parse(("RateLimit-Limit", "10, 10;w=1, 50;w=60"), ("RateLimit-Remaining", "4"), ("RateLimit-Reset", "1"));
        Assert.Equal(10, info.LimitRequests);
        Assert.Equal(Second, info.WindowRequests);
        Assert.Equal(2, info.Policies.Count);
    }

    [Fact]
    public void A_fractional_IETF_reset_is_exact() =>
        Assert.Equal(TimeSpan.Zero, Parse(("RateLimit-Remaining", "0"), ("RateLimit-Reset", "0.25")).ResetRequestsGranularity);

    [Fact]
    public void OpenAI_limits_and_Go_durations_are_exact()
    {
        var info = Parse(
            ("x-ratelimit-limit-requests", "60"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-limit-tokens", "150000"), ("x-ratelimit-remaining-tokens", "149000"), ("x-ratelimit-reset-tokens", "400ms"));
        Assert.Equal(RateLimitDialect.OpenAI, info.Dialect);
        Assert.Equal(60, info.LimitRequests);
        Assert.Equal(150000, info.LimitTokens);
        Assert.Equal(TimeSpan.Zero, info.ResetRequestsGranularity);
        Assert.Equal(TimeSpan.Zero, info.ResetTokensGranularity);
        Assert.Null(info.WindowRequests);
    }

    [Fact]
    public void Azure_remaining_only_is_the_OpenAI_dialect() =>
        Assert.Equal(RateLimitDialect.OpenAI, Parse(("x-ratelimit-remaining-requests", "5")).Dialect);

    [Fact]
    public void Anthropic_instants_in_whole_seconds_are_bounds_and_with_sub_second_digits_exact()
    {
        var whole = Parse(("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-reset", "2025-03-14T12:00:02Z"),
            ("anthropic-ratelimit-tokens-reset", "2025-03-14T12:00:01.250Z"));
        Assert.Equal(RateLimitDialect.Anthropic, whole.Dialect);
        Assert.Equal(Second, whole.ResetRequestsGranularity);
        Assert.Equal(TimeSpan.FromSeconds(2), whole.ResetRequests);
        Assert.Equal(TimeSpan.Zero, whole.ResetTokensGranularity);
        Assert.Equal(TimeSpan.FromMilliseconds(1250), whole.ResetTokens);
    }

    [Theory]
    [InlineData("retry-after", "2", 1000)]
    [InlineData("retry-after", "1.5", 0)]
    [InlineData("retry-after-ms", "1500", 0)]
    public void Retry_after_granularity_follows_its_form(string name, string value, double granularityMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(granularityMs), Parse((name, value)).RetryAfterGranularity);

    [Fact]
    public void A_retry_after_HTTP_date_is_a_whole_second_bound() =>
        Assert.Equal(Second, Parse(("retry-after", Now.AddSeconds(2).ToString("r"))).RetryAfterGranularity);
}
