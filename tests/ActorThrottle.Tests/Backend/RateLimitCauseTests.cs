using ActorThrottle.Backend;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Backend;

public sealed class RateLimitCauseTests
{
    [Theory]
    // OpenAI
    [InlineData("Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29500, Requested 1200. Please try again in 1.4s.", RateLimitedBy.Tokens)]
    [InlineData("Rate limit reached for gpt-4o in organization org-abc on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.", RateLimitedBy.Requests)]
    [InlineData("Rate limit reached for gpt-4o in organization org-abc on tokens per day (TPD): Limit 90000, Used 90000, Requested 10.", RateLimitedBy.Tokens)]
    [InlineData("Rate limit reached for o1 in organization org-abc on requests per day (RPD): Limit 100, Used 100, Requested 1.", RateLimitedBy.Requests)]
    [InlineData("Request too large for gpt-4 in organization org-abc on tokens per min (TPM): Limit 10000, Requested 20000.", RateLimitedBy.Tokens)]
    // Azure OpenAI
    [InlineData("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded token rate limit of your current OpenAI S0 pricing tier.", RateLimitedBy.Tokens)]
    [InlineData("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded call rate limit of your current OpenAI S0 pricing tier.", RateLimitedBy.Requests)]
    // Anthropic
    [InlineData("This request would exceed your organization's rate limit of 40,000 input tokens per minute.", RateLimitedBy.Tokens)]
    [InlineData("This request would exceed your organization's rate limit of 50 requests per minute.", RateLimitedBy.Requests)]
    // The simulator
    [InlineData("Rate limit reached for tokens on m (tokens per min (TPM)): Limit 1500000, Requested 412. Please try again in 17ms.", RateLimitedBy.Tokens)]
    [InlineData("Rate limit reached for requests on m (requests per sec (RPS)): Limit 100, Requested 1. Please try again in 10ms.", RateLimitedBy.Requests)]
    [InlineData("Rate limit reached for requests", RateLimitedBy.Requests)]
    [InlineData("RATE LIMIT REACHED FOR TOKENS", RateLimitedBy.Tokens)]
    // Nothing to tell, or both named
    [InlineData("Too many requests", RateLimitedBy.Unknown)]
    [InlineData("Slow down", RateLimitedBy.Unknown)]
    [InlineData("", RateLimitedBy.Unknown)]
    [InlineData(null, RateLimitedBy.Unknown)]
    [InlineData("Limits: 500 requests per min and 30000 tokens per min", RateLimitedBy.Unknown)]
    public void The_message_names_the_limit(string? message, RateLimitedBy expected)
    {
        Assert.Equal(expected, RateLimitCause.FromMessage(message));
        // With no headers, the message alone decides.
        Assert.Equal(expected, RateLimitCause.Of(message, RateLimitInfo.None, 100));
    }

    [Theory]
    // remaining requests, remaining tokens, request cost → cause
    [InlineData(0L, null, 100L, RateLimitedBy.Requests)]
    [InlineData(0L, 50_000L, 100L, RateLimitedBy.Requests)]
    [InlineData(5L, 0L, 100L, RateLimitedBy.Tokens)]
    [InlineData(null, 0L, 100L, RateLimitedBy.Tokens)]
    [InlineData(5L, 99L, 100L, RateLimitedBy.Tokens)]   // fewer left than this request costs
    [InlineData(5L, 100L, 100L, RateLimitedBy.Unknown)] // enough left: not the token limit
    [InlineData(0L, 0L, 100L, RateLimitedBy.Both)]
    [InlineData(0L, 40L, 100L, RateLimitedBy.Both)]
    [InlineData(5L, 50_000L, 100L, RateLimitedBy.Unknown)]
    [InlineData(null, null, 100L, RateLimitedBy.Unknown)]
    [InlineData(null, 10L, 0L, RateLimitedBy.Unknown)]  // cost unknown: only 0 left counts
    public void Without_a_telling_message_the_headers_decide(long? remainingRequests, long? remainingTokens, long cost, RateLimitedBy expected)
    {
        var info = new RateLimitInfo { RemainingRequests = remainingRequests, RemainingTokens = remainingTokens };
        Assert.Equal(expected, RateLimitCause.Of("Too many requests", info, cost));
        Assert.Equal(expected, RateLimitCause.Of(null, info, cost));
    }

    [Fact]
    public void A_telling_message_wins_over_the_headers()
    {
        var requestsExhausted = new RateLimitInfo { RemainingRequests = 0, RemainingTokens = 50_000 };
        Assert.Equal(RateLimitedBy.Tokens, RateLimitCause.Of("… on tokens per min (TPM) …", requestsExhausted, 100));
        var tokensExhausted = new RateLimitInfo { RemainingRequests = 10, RemainingTokens = 0 };
        Assert.Equal(RateLimitedBy.Requests, RateLimitCause.Of("… on requests per min (RPM) …", tokensExhausted, 100));
    }

    [Property(MaxTest = 500)]
    public Property Headers_alone_follow_the_rule(long? remainingRequests, long? remainingTokens, NonNegativeInt cost)
    {
        var info = new RateLimitInfo
        {
            RemainingRequests = remainingRequests is { } r ? Math.Abs(r % 1000) : null,
            RemainingTokens = remainingTokens is { } t ? Math.Abs(t % 100_000) : null,
        };
        var tokens = info.RemainingTokens is { } left && (left == 0 || left < cost.Get);
        var requests = info.RemainingRequests == 0;
        var expected = tokens && requests ? RateLimitedBy.Both : tokens ? RateLimitedBy.Tokens : requests ? RateLimitedBy.Requests : RateLimitedBy.Unknown;
        return (RateLimitCause.Of(null, info, cost.Get) == expected).Label($"{info} cost {cost.Get}");
    }
}
