namespace ActorThrottle.Simulator.Tests;

/// <summary>Every header dialect, byte for byte, including the published examples of each spec or provider.</summary>
public sealed class RateLimitHeaderWriterTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static LimitFacts Requests(double quota, long remaining, TimeSpan reset, TimeSpan? window = null, string name = "requests-per-minute", LimitAlgorithm algorithm = LimitAlgorithm.TokenBucket) =>
        new(name, algorithm, LimitUnit.Requests, quota, window ?? TimeSpan.FromMinutes(1), remaining, reset, remaining > 0 ? TimeSpan.Zero : reset);

    private static LimitFacts Tokens(double quota, long remaining, TimeSpan reset) =>
        new("tokens-per-minute", LimitAlgorithm.TokenBucket, LimitUnit.Tokens, quota, TimeSpan.FromMinutes(1), remaining, reset, TimeSpan.Zero);

    private static string Text(RateLimitHeaderMode mode, IReadOnlyList<LimitFacts> limits, TimeSpan? retryAfter = null, DateTimeOffset? now = null) =>
        string.Join("\n", RateLimitHeaderWriter.For(mode, limits, retryAfter, now ?? Now).Select(h => $"{h.Key}: {h.Value}"));

    [Fact]
    public void OpenAI_matches_the_rate_limit_guide_example()
    {
        // platform.openai.com/docs/guides/rate-limits, "Rate limits in headers".
        var text = Text(RateLimitHeaderMode.Full, [Requests(60, 59, TimeSpan.FromSeconds(1)), Tokens(150000, 149984, TimeSpan.FromMinutes(6))]);
        Assert.Equal("""
            x-ratelimit-limit-requests: 60
            x-ratelimit-remaining-requests: 59
            x-ratelimit-reset-requests: 1s
            x-ratelimit-limit-tokens: 150000
            x-ratelimit-remaining-tokens: 149984
            x-ratelimit-reset-tokens: 6m0s
            """.ReplaceLineEndings("\n"), text);
    }

    [Fact]
    public void OpenAI_429_adds_retry_after_in_seconds_and_milliseconds_both_rounded_up()
    {
        var text = Text(RateLimitHeaderMode.Full, [Requests(100, 0, TimeSpan.FromMilliseconds(1000.1))], TimeSpan.FromMilliseconds(439.2));
        Assert.EndsWith("retry-after: 1\nretry-after-ms: 440", text);
    }

    [Fact]
    public void OpenAI_reports_per_unit_the_limit_with_the_least_left_and_of_equals_the_one_whole_again_last()
    {
        var perSecond = Requests(10, 3, TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(1), "rps");
        var perMinute = Requests(500, 3, TimeSpan.FromSeconds(40), name: "rpm");
        Assert.StartsWith("x-ratelimit-limit-requests: 500\nx-ratelimit-remaining-requests: 3\nx-ratelimit-reset-requests: 40s",
            Text(RateLimitHeaderMode.Full, [perSecond, perMinute]));
        Assert.StartsWith("x-ratelimit-limit-requests: 10\nx-ratelimit-remaining-requests: 2",
            Text(RateLimitHeaderMode.Full, [perSecond with { Remaining = 2 }, perMinute]));
    }

    [Theory]
    [InlineData(RateLimitHeaderMode.Full)]
    [InlineData(RateLimitHeaderMode.Azure)]
    [InlineData(RateLimitHeaderMode.Anthropic)]
    [InlineData(RateLimitHeaderMode.IetfDraft7)]
    [InlineData(RateLimitHeaderMode.IetfStructured)]
    [InlineData(RateLimitHeaderMode.IetfSeparate)]
    public void A_concurrency_cap_never_appears_but_a_429_still_carries_the_dialect_retry_after(RateLimitHeaderMode mode)
    {
        var cap = new LimitFacts("concurrency", LimitAlgorithm.Concurrency, LimitUnit.Requests, 8, TimeSpan.Zero, 0, TimeSpan.Zero, TimeSpan.Zero);
        Assert.Equal(string.Empty, Text(mode, [cap]));
        Assert.Contains("retry-after", Text(mode, [cap], TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void None_sends_nothing_even_on_a_429()
    {
        Assert.Empty(RateLimitHeaderWriter.For(RateLimitHeaderMode.None, [Requests(1, 0, TimeSpan.FromSeconds(60))], TimeSpan.FromSeconds(60), Now));
    }

    [Fact]
    public void Retry_after_only_matches_rfc9110_delta_seconds_and_is_at_least_one()
    {
        // RFC 9110 §10.2.3: "Retry-After: 120".
        Assert.Equal("retry-after: 120", Text(RateLimitHeaderMode.RetryAfterOnly, [Requests(1, 0, TimeSpan.FromMinutes(1))], TimeSpan.FromSeconds(120)));
        Assert.Equal("retry-after: 1", Text(RateLimitHeaderMode.RetryAfterOnly, [], TimeSpan.FromMilliseconds(5)));
        Assert.Equal("retry-after: 1", Text(RateLimitHeaderMode.RetryAfterOnly, [], TimeSpan.Zero));
        Assert.Equal(string.Empty, Text(RateLimitHeaderMode.RetryAfterOnly, [Requests(1, 0, TimeSpan.FromMinutes(1))]));
    }

    [Fact]
    public void Retry_after_date_matches_rfc9110_and_rounds_the_instant_up_to_the_second()
    {
        // RFC 9110 §10.2.3: "Retry-After: Fri, 31 Dec 1999 23:59:59 GMT".
        var now = new DateTimeOffset(1999, 12, 31, 23, 57, 58, 500, TimeSpan.Zero);
        Assert.Equal("retry-after: Fri, 31 Dec 1999 23:59:59 GMT", Text(RateLimitHeaderMode.RetryAfterDate, [], TimeSpan.FromSeconds(120), now));
        Assert.Equal("retry-after: Fri, 31 Dec 1999 23:59:59 GMT", Text(RateLimitHeaderMode.RetryAfterDate, [], TimeSpan.FromSeconds(120.5), now));
        Assert.Equal("retry-after: Sat, 01 Jan 2000 00:00:00 GMT", Text(RateLimitHeaderMode.RetryAfterDate, [], TimeSpan.FromSeconds(120.6), now));
    }

    [Fact]
    public void Azure_sends_remaining_only_and_retry_after_ms_on_a_429()
    {
        var text = Text(RateLimitHeaderMode.Azure, [Requests(600, 0, TimeSpan.FromSeconds(10)), Tokens(60000, 1200, TimeSpan.FromSeconds(10))], TimeSpan.FromMilliseconds(2500));
        Assert.Equal("x-ratelimit-remaining-requests: 0\nx-ratelimit-remaining-tokens: 1200\nretry-after-ms: 2500\nretry-after: 3", text);
    }

    [Fact]
    public void Anthropic_sends_rfc3339_instants_of_full_replenishment_rounded_up()
    {
        // docs.anthropic.com/en/api/rate-limits, response headers: limit, remaining and an RFC 3339 reset per unit.
        var now = new DateTimeOffset(2024, 6, 7, 11, 59, 59, 100, TimeSpan.Zero);
        var text = Text(RateLimitHeaderMode.Anthropic, [Requests(50, 49, TimeSpan.FromMilliseconds(800)), Tokens(40000, 39000, TimeSpan.FromSeconds(1.5))], TimeSpan.FromSeconds(0.9), now);
        Assert.Equal("""
            anthropic-ratelimit-requests-limit: 50
            anthropic-ratelimit-requests-remaining: 49
            anthropic-ratelimit-requests-reset: 2024-06-07T12:00:00Z
            anthropic-ratelimit-tokens-limit: 40000
            anthropic-ratelimit-tokens-remaining: 39000
            anthropic-ratelimit-tokens-reset: 2024-06-07T12:00:01Z
            retry-after: 1
            """.ReplaceLineEndings("\n"), text);
    }

    [Fact]
    public void Ietf_draft7_matches_its_example_form()
    {
        // draft-ietf-httpapi-ratelimit-headers-07, its examples: "RateLimit: limit=100, remaining=99, reset=50" with
        // "RateLimit-Policy: 100;w=60", and "RateLimit-Policy: 100;w=10" with "RateLimit: limit=100, remaining=50, reset=5".
        Assert.Equal("RateLimit: limit=100, remaining=99, reset=50\nRateLimit-Policy: 100;w=60",
            Text(RateLimitHeaderMode.IetfDraft7, [Requests(100, 99, TimeSpan.FromSeconds(50))]));
        Assert.Equal("RateLimit: limit=100, remaining=50, reset=5\nRateLimit-Policy: 100;w=10",
            Text(RateLimitHeaderMode.IetfDraft7, [Requests(100, 50, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10))]));
    }

    [Fact]
    public void Ietf_draft7_reports_the_limit_closest_to_rejecting_and_lists_every_policy_with_it_first()
    {
        var perSecond = Requests(20, 2, TimeSpan.FromMilliseconds(30), TimeSpan.FromSeconds(1), "rps", LimitAlgorithm.FixedWindow);
        var perMinute = Requests(1000, 400, TimeSpan.FromSeconds(31));
        // 2/20 = 10 % left against 40 %: the per-second window is reported; its 30 ms reset is 1 whole second, rounded up.
        Assert.Equal("RateLimit: limit=20, remaining=2, reset=1\nRateLimit-Policy: 20;w=1, 1000;w=60\nretry-after: 1",
            Text(RateLimitHeaderMode.IetfDraft7, [perMinute, perSecond], TimeSpan.FromMilliseconds(30)));
    }

    [Fact]
    public void Ietf_structured_fields_match_the_later_drafts_example()
    {
        // draft-ietf-httpapi-ratelimit-headers-08 and later: RateLimit-Policy: "default";q=100;w=10 and RateLimit: "default";r=50;t=30.
        var text = Text(RateLimitHeaderMode.IetfStructured, [Requests(100, 50, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), "default")]);
        Assert.Equal("RateLimit-Policy: \"default\";q=100;w=10\nRateLimit: \"default\";r=50;t=30", text);
    }

    [Fact]
    public void Ietf_structured_names_are_quoted_sf_strings()
    {
        var text = Text(RateLimitHeaderMode.IetfStructured, [Requests(5, 5, TimeSpan.Zero, TimeSpan.FromSeconds(1), "a\"b\\c")]);
        Assert.Equal("RateLimit-Policy: \"a\\\"b\\\\c\";q=5;w=1\nRateLimit: \"a\\\"b\\\\c\";r=5;t=0", text);
    }

    [Fact]
    public void Ietf_separate_fields_send_limit_remaining_and_reset_in_rounded_up_seconds()
    {
        Assert.Equal("RateLimit-Limit: 100\nRateLimit-Remaining: 0\nRateLimit-Reset: 2\nretry-after: 2",
            Text(RateLimitHeaderMode.IetfSeparate, [Requests(100, 0, TimeSpan.FromMilliseconds(1001), TimeSpan.FromSeconds(1))], TimeSpan.FromMilliseconds(1001)));
    }

    [Theory]
    [InlineData(0L, 0L)]
    [InlineData(1L, 1L)]
    [InlineData(10_000_000L, 1L)]
    [InlineData(10_000_001L, 2L)]
    [InlineData(600_000_000L, 60L)]
    public void Delta_seconds_are_ceilings(long ticks, long seconds)
    {
        Assert.Equal(seconds, RateLimitHeaderWriter.CeilingSeconds(TimeSpan.FromTicks(ticks)));
    }

    [Theory]
    [InlineData(439.0, 439L)]
    [InlineData(1000.1, 1001L)]
    [InlineData(0.01, 1L)]
    public void Milliseconds_are_ceilings(double milliseconds, long expected)
    {
        Assert.Equal(expected, RateLimitHeaderWriter.CeilingMilliseconds(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void Without_limits_a_dialect_sends_only_its_429_retry_after()
    {
        Assert.Equal(string.Empty, Text(RateLimitHeaderMode.IetfDraft7, []));
        Assert.Equal("retry-after: 3", Text(RateLimitHeaderMode.IetfStructured, [], TimeSpan.FromSeconds(2.5)));
        Assert.Equal("retry-after: 3\nretry-after-ms: 2500", Text(RateLimitHeaderMode.Full, [], TimeSpan.FromSeconds(2.5)));
    }
}
