using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

public sealed class RateLimitPauseExactResetTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MaxPause = TimeSpan.FromMinutes(2);

    [Fact]
    public void No_remaining_requests_pauses_until_the_requests_reset()
    {
        var info = new RateLimitInfo { RemainingRequests = 0, ResetRequests = TimeSpan.FromSeconds(1) };
        Assert.Equal(Now.AddSeconds(1), RateLimitPause.Until(info, Now, MaxPause));
    }

    [Fact]
    public void No_remaining_tokens_pauses_until_the_tokens_reset()
    {
        var info = new RateLimitInfo { RemainingTokens = 0, ResetTokens = TimeSpan.FromSeconds(6) };
        Assert.Equal(Now.AddSeconds(6), RateLimitPause.Until(info, Now, MaxPause));
    }

    [Fact]
    public void When_both_are_exhausted_the_later_reset_wins()
    {
        var tokensLater = new RateLimitInfo
        {
            RemainingRequests = 0, ResetRequests = TimeSpan.FromSeconds(1),
            RemainingTokens = 0, ResetTokens = TimeSpan.FromSeconds(6),
        };
        Assert.Equal(Now.AddSeconds(6), RateLimitPause.Until(tokensLater, Now, MaxPause));

        var requestsLater = tokensLater with { ResetRequests = TimeSpan.FromSeconds(9) };
        Assert.Equal(Now.AddSeconds(9), RateLimitPause.Until(requestsLater, Now, MaxPause));
    }

    [Fact]
    public void A_reset_of_a_budget_that_is_not_exhausted_does_not_pause()
    {
        var info = new RateLimitInfo
        {
            RemainingRequests = 0, ResetRequests = TimeSpan.FromSeconds(1),
            RemainingTokens = 500, ResetTokens = TimeSpan.FromSeconds(30),
        };
        Assert.Equal(Now.AddSeconds(1), RateLimitPause.Until(info, Now, MaxPause));
    }

    [Fact]
    public void Nothing_pauses_while_something_remains()
    {
        var info = new RateLimitInfo
        {
            RemainingRequests = 1, ResetRequests = TimeSpan.FromSeconds(1),
            RemainingTokens = 10, ResetTokens = TimeSpan.FromSeconds(6),
        };
        Assert.Null(RateLimitPause.Until(info, Now, MaxPause));
    }

    [Fact]
    public void Nothing_pauses_when_nothing_is_reported() =>
        Assert.Null(RateLimitPause.Until(RateLimitInfo.None, Now, MaxPause));

    [Fact]
    public void Nothing_pauses_when_remaining_is_zero_but_no_reset_is_known() =>
        Assert.Null(RateLimitPause.Until(new RateLimitInfo { RemainingRequests = 0, RemainingTokens = 0 }, Now, MaxPause));

    [Fact]
    public void Nothing_pauses_when_the_reset_has_already_passed() =>
        Assert.Null(RateLimitPause.Until(new RateLimitInfo { RemainingRequests = 0, ResetRequests = TimeSpan.Zero }, Now, MaxPause));

    [Fact]
    public void A_pause_is_capped_at_max_pause()
    {
        var info = new RateLimitInfo { RemainingTokens = 0, ResetTokens = TimeSpan.FromHours(1) };
        Assert.Equal(Now + MaxPause, RateLimitPause.Until(info, Now, MaxPause));
    }

    [Fact]
    public void Headers_to_pause_end_to_end_from_an_OpenAI_response()
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["x-ratelimit-remaining-requests"] = "0",
            ["x-ratelimit-reset-requests"] = "1s",
            ["x-ratelimit-remaining-tokens"] = "0",
            ["x-ratelimit-reset-tokens"] = "1m30.5s",
        };
        var info = RateLimitHeaders.Parse(n => headers.GetValueOrDefault(n), Now);
        Assert.Equal(Now.AddSeconds(90.5), RateLimitPause.Until(info, Now, MaxPause));
    }

    [Fact]
    public void With_a_reported_request_limit_the_pause_lasts_until_one_request_is_back_not_the_whole_bucket()
    {
        // OpenAI: 600 requests per minute, empty; full again in 60 s, one request back in 100 ms.
        var info = new RateLimitInfo { LimitRequests = 600, RemainingRequests = 0, ResetRequests = TimeSpan.FromSeconds(60) };
        Assert.Equal(Now.AddMilliseconds(100), RateLimitPause.Until(info, Now, MaxPause));
    }

    [Fact]
    public void With_a_reported_token_limit_the_pause_lasts_until_the_next_calls_tokens_are_back()
    {
        var info = new RateLimitInfo { LimitTokens = 60_000, RemainingTokens = 0, ResetTokens = TimeSpan.FromSeconds(60) };
        Assert.Equal(Now.AddSeconds(3), RateLimitPause.Until(info, Now, MaxPause, tokensNeeded: 3_000));
        // Needing more than the limit can only mean waiting for the full reset.
        Assert.Equal(Now.AddSeconds(60), RateLimitPause.Until(info, Now, MaxPause, tokensNeeded: 100_000));
    }

    [Fact]
    public void A_limit_of_zero_falls_back_to_the_full_reset()
    {
        var info = new RateLimitInfo { LimitRequests = 0, RemainingRequests = 0, ResetRequests = TimeSpan.FromSeconds(2) };
        Assert.Equal(Now.AddSeconds(2), RateLimitPause.Until(info, Now, MaxPause));
    }
}
