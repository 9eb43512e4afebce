using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>The pause decision per dialect (<see cref="RateLimitPause"/>): whole-second resets are bounds, windows are paced.</summary>
public sealed class RateLimitPauseTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MaxPause = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static RateLimitInfo Parse(params (string Name, string Value)[] headers)
    {
        var map = headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return RateLimitHeaders.Parse(name => map.TryGetValue(name, out var v) ? v : null, Now);
    }

    private static TimeSpan? Pause(RateLimitInfo info, long tokens = 1) => RateLimitPause.Until(info, Now, MaxPause, tokens) - Now;

    [Fact]
    public void Nothing_reported_or_something_remaining_does_not_pause()
    {
        Assert.Null(Pause(RateLimitInfo.None));
        Assert.Null(Pause(Parse(("RateLimit", "limit=100, remaining=1, reset=1"), ("RateLimit-Policy", "100;w=1"))));
        Assert.Null(Pause(Parse(("x-ratelimit-limit-requests", "60"), ("x-ratelimit-remaining-requests", "3"), ("x-ratelimit-reset-requests", "57s"))));
        Assert.Null(Pause(new RateLimitInfo { RemainingRequests = 0 }));
        Assert.Null(Pause(new RateLimitInfo { RemainingRequests = 0, ResetRequests = TimeSpan.Zero }));
    }

    [Fact]
    public void An_OpenAI_429_whose_exact_retry_after_is_later_than_the_bucket_share_waits_for_it()
    {
        // A fixed 1 s window behind OpenAI's headers: the reset is the window's end, and the 429 says so exactly.
        var window = Parse(("x-ratelimit-limit-requests", "100"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "900ms"), ("retry-after-ms", "900"), ("retry-after", "1"));
        Assert.Equal(TimeSpan.FromMilliseconds(900), Pause(window));
        // A bucket whose next request's worth is back in 10 ms says so too: its share of the reset stands.
        var bucket = Parse(("x-ratelimit-limit-requests", "100"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1s"), ("retry-after-ms", "10"), ("retry-after", "1"));
        Assert.Equal(TimeSpan.FromMilliseconds(10), Pause(bucket));
        // A whole-second retry-after bounds a wait anywhere in the second before it: not taken.
        var rough = Parse(("x-ratelimit-limit-requests", "100"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1s"), ("retry-after", "1"));
        Assert.Equal(TimeSpan.FromMilliseconds(10), Pause(rough));
        // Tokens exhausted too: the retry-after may be this request's tokens, which a smaller request need not wait for.
        var both = Parse(("x-ratelimit-limit-requests", "100"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-limit-tokens", "1000"), ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "100ms"), ("retry-after-ms", "900"));
        Assert.Equal(TimeSpan.FromMilliseconds(10), Pause(both));
        // A success carries no retry-after, and something remaining never pauses.
        Assert.Null(Pause(Parse(("x-ratelimit-limit-requests", "100"), ("x-ratelimit-remaining-requests", "1"), ("x-ratelimit-reset-requests", "990ms"), ("retry-after-ms", "900"))));
    }

    [Fact]
    public void An_Azure_429_with_no_requests_remaining_waits_for_its_exact_retry_after()
    {
        // Azure states no limit and no reset: the 429's retry-after-ms is the only word on when requests are back.
        var window = Parse(("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "9000"), ("retry-after-ms", "4500"), ("retry-after", "5"));
        Assert.Equal(TimeSpan.FromMilliseconds(4500), Pause(window));
        // A whole-second retry-after only bounds the wait: the rejected request waits, the model does not.
        Assert.Null(Pause(Parse(("x-ratelimit-remaining-requests", "0"), ("retry-after", "5"))));
        // Something remains: the 429 was about something else.
        Assert.Null(Pause(Parse(("x-ratelimit-remaining-requests", "3"), ("retry-after-ms", "4500"))));
        // Tokens exhausted too: the retry-after may be this request's tokens.
        Assert.Null(Pause(Parse(("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "0"), ("retry-after-ms", "4500"))));
        // A success carries no retry-after.
        Assert.Null(Pause(Parse(("x-ratelimit-remaining-requests", "0"))));
    }

    [Fact]
    public void Draft7_reset_of_one_second_on_a_one_second_window_paces_one_slot_instead_of_idling_a_second() =>
        Assert.Equal(TimeSpan.FromMilliseconds(10), Pause(Parse(("RateLimit", "limit=100, remaining=0, reset=1"), ("RateLimit-Policy", "100;w=1"))));

    [Fact]
    public void A_per_minute_IETF_window_is_paced_not_idled_until_its_end() =>
        Assert.Equal(TimeSpan.FromMilliseconds(50), Pause(Parse(("RateLimit", "limit=1200, remaining=0, reset=37"), ("RateLimit-Policy", "1200;w=60"))));

    [Fact]
    public void Structured_fields_pace_the_named_policy()
    {
        var info = Parse(("RateLimit-Policy", "\"s\";q=10;w=1, \"m\";q=120;w=60"), ("RateLimit", "\"m\";r=0;t=20"));
        Assert.Equal(TimeSpan.FromMilliseconds(500), Pause(info));
    }

    [Fact]
    public void The_paced_share_never_exceeds_the_reset()
    {
        // A 60 s window of 2 requests paces at 30 s, but this window is whole again within 5 s.
        var info = Parse(("RateLimit", "limit=2, remaining=0, reset=5"), ("RateLimit-Policy", "2;w=60"));
        Assert.Equal(TimeSpan.FromSeconds(5), Pause(info));
    }

    [Fact]
    public void Separate_IETF_fields_with_a_whole_second_reset_pause_one_unit_share_of_it()
    {
        // A GCRA of 100/s with a burst of 5: RateLimit-Reset rounds 50 ms up to 1; a slot frees every 10 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(10), Pause(Parse(("RateLimit-Limit", "100"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1"))));
    }

    [Theory]
    [InlineData("1", 500)]
    [InlineData("3", 2_500)]
    [InlineData("0.25", 250)]
    public void Without_a_limit_a_whole_second_reset_is_waited_to_the_middle_of_its_span_and_an_exact_one_in_full(string reset, double expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Pause(Parse(("RateLimit-Remaining", "0"), ("RateLimit-Reset", reset))));

    [Fact]
    public void An_exact_reset_without_a_limit_is_waited_in_full() =>
        Assert.Equal(TimeSpan.FromMilliseconds(1_200), Pause(Parse(("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1.2s"))));

    [Fact]
    public void OpenAI_bucket_reset_is_shared_by_the_limit_as_today()
    {
        // 60 RPM, full again in 60 s: one request is back in 1 s, not 60.
        var info = Parse(("x-ratelimit-limit-requests", "60"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1m0s"));
        Assert.Equal(Second, Pause(info));
    }

    [Fact]
    public void OpenAI_tokens_wait_for_the_next_calls_worth()
    {
        var info = Parse(("x-ratelimit-limit-tokens", "60000"), ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "60s"));
        Assert.Equal(TimeSpan.FromSeconds(3), Pause(info, tokens: 3000));
        Assert.Equal(TimeSpan.FromMilliseconds(1), Pause(info, tokens: 0));
    }

    [Fact]
    public void A_call_needing_the_whole_limit_waits_the_whole_reset()
    {
        var info = Parse(("x-ratelimit-limit-tokens", "1000"), ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "6s"));
        Assert.Equal(TimeSpan.FromSeconds(6), Pause(info, tokens: 5000));
    }

    [Fact]
    public void Anthropic_whole_second_instants_are_shared_by_the_limit()
    {
        var info = Parse(("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-03-14T12:01:00Z"));
        Assert.Equal(TimeSpan.FromSeconds(1.2), Pause(info));
    }

    [Fact]
    public void The_later_of_requests_and_tokens_wins()
    {
        var info = Parse(
            ("x-ratelimit-limit-requests", "100"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-limit-tokens", "1000"), ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "10s"));
        Assert.Equal(TimeSpan.FromSeconds(2), Pause(info, tokens: 200));
        Assert.Equal(TimeSpan.FromMilliseconds(10), Pause(info, tokens: 0)); // tokens: 10 ms for one token, requests: 10 ms
    }

    [Fact]
    public void A_long_wait_is_capped_at_max_pause()
    {
        var info = Parse(("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1h"));
        Assert.Equal(MaxPause, Pause(info));
    }

    [Theory]
    [InlineData(null, 1_000.0, 0, null, null, 1, null)]          // nothing remaining reported
    [InlineData(0L, null, 0, null, null, 1, null)]             // no reset
    [InlineData(2L, 1_000.0, 0, null, null, 1, null)]            // something remains
    [InlineData(0L, 1_000.0, 0, null, null, 1, 1_000.0)]         // exact, nothing else known: the reset
    [InlineData(0L, 1_000.0, 1_000, null, null, 1, 500.0)]       // whole second: the middle of (0, 1]
    [InlineData(0L, 400.0, 1_000, null, null, 1, 200.0)]         // a bound under its granularity: half of it
    [InlineData(0L, 1_000.0, 0, 100L, null, 1, 10.0)]            // a bucket's share
    [InlineData(0L, 1_000.0, 1_000, 100L, 1_000.0, 1, 10.0)]     // a window paced
    [InlineData(0L, 20_000.0, 1_000, 120L, 60_000.0, 1, 500.0)]  // a per-minute window paced
    [InlineData(0L, 1_000.0, 1_000, 100L, 1_000.0, 100, 1_000.0)]// a need as large as the quota: the reset
    public void Wait_per_limit(long? remaining, double? resetMs, double granularityMs, long? limit, double? windowMs, long needed, double? expectedMs)
    {
        var wait = RateLimitPause.Wait(remaining, resetMs is { } r ? TimeSpan.FromMilliseconds(r) : null, TimeSpan.FromMilliseconds(granularityMs),
            limit, windowMs is { } w ? TimeSpan.FromMilliseconds(w) : null, needed);
        Assert.Equal(expectedMs is { } e ? TimeSpan.FromMilliseconds(e) : null, wait);
    }
}
