using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

public sealed class RateLimitHeadersTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);

    private static RateLimitInfo Parse(TimeSpan? maxWait, params (string Name, string Value)[] headers)
    {
        // Header names are case-insensitive on the wire; the backend's lookup is too. Model that here.
        var map = headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return RateLimitHeaders.Parse(name => map.TryGetValue(name, out var v) ? v : null, Now, maxWait);
    }

    private static RateLimitInfo Parse(params (string Name, string Value)[] headers) => Parse(null, headers);

    [Fact]
    public void No_headers_means_nothing_reported() =>
        Assert.Equal(RateLimitInfo.None, Parse());

    [Theory]
    [InlineData("1", 1_000)]
    [InlineData("30", 30_000)]
    [InlineData("0", 0)]
    [InlineData("1.5", 1_500)]
    [InlineData(" 2 ", 2_000)]
    public void Retry_after_in_seconds_is_read(string value, double expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Parse(("retry-after", value)).RetryAfter);

    [Fact]
    public void Retry_after_as_an_HTTP_date_is_relative_to_now() =>
        Assert.Equal(TimeSpan.FromSeconds(90), Parse(("retry-after", Now.AddSeconds(90).ToString("r"))).RetryAfter);

    [Fact]
    public void Retry_after_as_an_HTTP_date_in_the_past_means_retry_now() =>
        Assert.Equal(TimeSpan.Zero, Parse(("retry-after", Now.AddMinutes(-5).ToString("r"))).RetryAfter);

    [Fact]
    public void Retry_after_ms_is_preferred_over_retry_after() =>
        Assert.Equal(TimeSpan.FromMilliseconds(250), Parse(("retry-after-ms", "250"), ("retry-after", "7")).RetryAfter);

    [Fact]
    public void Fractional_retry_after_ms_is_kept() =>
        Assert.Equal(TimeSpan.FromMilliseconds(12.5), Parse(("retry-after-ms", "12.5")).RetryAfter);

    [Theory]
    [InlineData("soon")]
    [InlineData("-3")]
    [InlineData("NaN")]
    public void Unusable_retry_after_ms_falls_back_to_retry_after(string ms) =>
        Assert.Equal(TimeSpan.FromSeconds(2), Parse(("retry-after-ms", ms), ("retry-after", "2")).RetryAfter);

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1e400")]
    [InlineData("Friday")]
    [InlineData("2025-03-14 12:01:00 garbage")]
    public void Unparseable_or_negative_retry_after_is_ignored(string value) =>
        Assert.Null(Parse(("retry-after", value)).RetryAfter);

    [Fact]
    public void A_retry_after_of_a_day_is_capped_by_max_wait()
    {
        var info = Parse(TimeSpan.FromMinutes(2), ("retry-after", "86400"));
        Assert.Equal(TimeSpan.FromMinutes(2), info.RetryAfter);
    }

    [Fact]
    public void Without_an_explicit_max_wait_the_default_cap_of_an_hour_applies()
    {
        Assert.Equal(RateLimitHeaders.DefaultMaxWait, Parse(("retry-after", "86400")).RetryAfter);
        Assert.Equal(RateLimitHeaders.DefaultMaxWait, Parse(("retry-after-ms", "86400000")).RetryAfter);
        Assert.Equal(RateLimitHeaders.DefaultMaxWait, Parse(("retry-after", Now.AddDays(3).ToString("r"))).RetryAfter);
    }

    [Fact]
    public void OpenAI_remaining_and_reset_headers_are_read()
    {
        var info = Parse(
            ("x-ratelimit-limit-requests", "60"),
            ("x-ratelimit-remaining-requests", "59"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-limit-tokens", "150000"),
            ("x-ratelimit-remaining-tokens", "149984"),
            ("x-ratelimit-reset-tokens", "6m0s"));
        Assert.Equal(59, info.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(1), info.ResetRequests);
        Assert.Equal(149_984, info.RemainingTokens);
        Assert.Equal(TimeSpan.FromMinutes(6), info.ResetTokens);
        Assert.Null(info.RetryAfter);
    }

    [Fact]
    public void Header_names_are_matched_case_insensitively_by_the_lookup()
    {
        var info = Parse(("X-RateLimit-Remaining-Requests", "0"), ("X-RateLimit-Reset-Requests", "20ms"), ("Retry-After", "3"));
        Assert.Equal(0, info.RemainingRequests);
        Assert.Equal(TimeSpan.FromMilliseconds(20), info.ResetRequests);
        Assert.Equal(TimeSpan.FromSeconds(3), info.RetryAfter);
    }

    [Theory]
    [InlineData("-1s")]
    [InlineData("-5")]
    [InlineData("later")]
    [InlineData("1e400")]
    public void A_negative_or_garbage_reset_is_ignored(string reset)
    {
        var info = Parse(("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", reset),
            ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", reset));
        Assert.Null(info.ResetRequests);
        Assert.Null(info.ResetTokens);
        Assert.Equal(0, info.RemainingRequests);
    }

    [Theory]
    [InlineData("100000h")]
    [InlineData("99999999")]
    public void A_huge_reset_is_capped_by_max_wait(string reset)
    {
        var info = Parse(TimeSpan.FromSeconds(120), ("x-ratelimit-reset-requests", reset), ("x-ratelimit-reset-tokens", reset));
        Assert.Equal(TimeSpan.FromSeconds(120), info.ResetRequests);
        Assert.Equal(TimeSpan.FromSeconds(120), info.ResetTokens);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("many")]
    [InlineData("1.5")]
    [InlineData("")]
    public void Negative_or_non_integer_remaining_counts_are_ignored(string remaining)
    {
        var info = Parse(("x-ratelimit-remaining-requests", remaining), ("x-ratelimit-remaining-tokens", remaining));
        Assert.Null(info.RemainingRequests);
        Assert.Null(info.RemainingTokens);
    }

    [Fact]
    public void Anthropic_headers_with_RFC_3339_resets_are_read_relative_to_now()
    {
        var info = Parse(
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-03-14T12:00:30Z"),
            ("anthropic-ratelimit-tokens-remaining", "1200"),
            ("anthropic-ratelimit-tokens-reset", "2025-03-14T13:00:45+01:00"));
        Assert.Equal(0, info.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(30), info.ResetRequests);
        Assert.Equal(1200, info.RemainingTokens);
        Assert.Equal(TimeSpan.FromSeconds(45), info.ResetTokens);
    }

    [Fact]
    public void An_Anthropic_reset_in_the_past_is_zero() =>
        Assert.Equal(TimeSpan.Zero, Parse(("anthropic-ratelimit-requests-reset", "2025-03-14T11:59:00Z")).ResetRequests);

    [Fact]
    public void An_Anthropic_reset_far_in_the_future_is_capped() =>
        Assert.Equal(TimeSpan.FromMinutes(1),
            Parse(TimeSpan.FromMinutes(1), ("anthropic-ratelimit-tokens-reset", "2030-01-01T00:00:00Z")).ResetTokens);

    [Fact]
    public void An_unparseable_Anthropic_reset_is_ignored() =>
        Assert.Null(Parse(("anthropic-ratelimit-requests-reset", "tomorrow-ish")).ResetRequests);

    [Fact]
    public void OpenAI_headers_win_over_Anthropic_ones_when_both_are_present()
    {
        var info = Parse(
            ("x-ratelimit-remaining-requests", "5"), ("anthropic-ratelimit-requests-remaining", "0"),
            ("x-ratelimit-reset-requests", "2s"), ("anthropic-ratelimit-requests-reset", "2025-03-14T12:00:30Z"));
        Assert.Equal(5, info.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(2), info.ResetRequests);
    }

    [Fact]
    public void IETF_RateLimit_Remaining_and_Reset_are_read_as_requests()
    {
        var info = Parse(("RateLimit-Limit", "100"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "12"));
        Assert.Equal(0, info.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(12), info.ResetRequests);
        Assert.Null(info.RemainingTokens);
    }

    [Theory]
    [InlineData("-4")]
    [InlineData("soon")]
    [InlineData("1e12")]
    public void An_IETF_reset_that_is_negative_garbage_or_absurd_is_ignored(string reset) =>
        Assert.Null(Parse(("RateLimit-Remaining", "0"), ("RateLimit-Reset", reset)).ResetRequests);

    [Fact]
    public void An_IETF_reset_beyond_max_wait_is_capped() =>
        Assert.Equal(TimeSpan.FromSeconds(10), Parse(TimeSpan.FromSeconds(10), ("RateLimit-Reset", "3600")).ResetRequests);

    [Theory]
    [InlineData("\"default\";r=0;t=30", 0, 30)]
    [InlineData("\"default\";r=50;t=30, \"daily\";r=0;t=3600", 0, 3600)]
    [InlineData("\"a\";r=0;t=5, \"b\";r=0;t=9", 0, 9)]
    [InlineData("\"a\";r=3;t=5, \"b\";r=7;t=1", 3, 5)]
    [InlineData("limit=100, remaining=0, reset=12", 0, 12)]
    public void The_structured_IETF_RateLimit_field_is_read(string value, long remaining, double resetSeconds)
    {
        var info = Parse(("RateLimit", value), ("RateLimit-Policy", "\"default\";q=100;w=60"));
        Assert.Equal(remaining, info.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(resetSeconds), info.ResetRequests);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData(";;;,,,")]
    [InlineData("\"default\";r=-1;t=-5")]
    [InlineData("\"default\";q=100")]
    public void A_malformed_structured_RateLimit_field_is_ignored(string value)
    {
        var info = Parse(("RateLimit", value));
        Assert.Null(info.RemainingRequests);
        Assert.Null(info.ResetRequests);
    }

    [Fact]
    public void The_separate_IETF_fields_win_over_the_structured_one()
    {
        var info = Parse(("RateLimit-Remaining", "4"), ("RateLimit-Reset", "2"), ("RateLimit", "\"default\";r=0;t=30"));
        Assert.Equal(4, info.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(2), info.ResetRequests);
    }
}
