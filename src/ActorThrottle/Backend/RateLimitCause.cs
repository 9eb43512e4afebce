namespace ActorThrottle.Backend;

/// <summary>Tells which limit a 429 rate-limit answer was about, from its error message and rate-limit headers. Pure.</summary>
internal static class RateLimitCause
{
    // OpenAI: "… on tokens per min (TPM): Limit 30000, Used …" / "… on requests per min (RPM) …"; Azure OpenAI: "… exceeded
    // token rate limit …" / "… exceeded call rate limit …"; Anthropic: "… rate limit of 40,000 input tokens per minute" /
    // "… of 50 requests per minute"; the simulator: "Rate limit reached for tokens on m (tokens per min (TPM)) …".
    private static readonly string[] TokenMarkers =
        ["tokens per", "(tpm)", "(tpd)", "(itpm)", "(otpm)", "token rate limit", "tokens/min", "limit reached for tokens"];

    private static readonly string[] RequestMarkers =
        ["requests per", "(rpm)", "(rpd)", "(rps)", "request rate limit", "call rate limit", "requests/min", "limit reached for requests"];

    /// <summary>
    /// The message decides when it names exactly one kind of limit (it is the provider's own statement). Otherwise the
    /// headers: the token limit is exhausted when <c>remaining-tokens</c> is 0 or below what this request costs, the
    /// request limit when <c>remaining-requests</c> is 0; one of them exhausted names it, both give
    /// <see cref="RateLimitedBy.Both"/>. Neither: <see cref="RateLimitedBy.Unknown"/>.
    /// </summary>
    /// <param name="errorMessage">The error body's message (may be null).</param>
    /// <param name="limits">The 429's rate-limit headers.</param>
    /// <param name="requestTokens">What the rejected request costs in tokens (prompt + max tokens); 0 if unknown.</param>
    public static RateLimitedBy Of(string? errorMessage, RateLimitInfo limits, long requestTokens)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var byMessage = FromMessage(errorMessage);
        if (byMessage != RateLimitedBy.Unknown)
        {
            return byMessage;
        }
        var tokens = limits.RemainingTokens is { } t && (t == 0 || t < requestTokens);
        var requests = limits.RemainingRequests == 0;
        return (tokens, requests) switch
        {
            (true, true) => RateLimitedBy.Both,
            (true, false) => RateLimitedBy.Tokens,
            (false, true) => RateLimitedBy.Requests,
            _ => RateLimitedBy.Unknown,
        };
    }

    /// <summary>What the message alone says: Tokens or Requests when it names one of them only, else Unknown.</summary>
    public static RateLimitedBy FromMessage(string? errorMessage)
    {
        if (string.IsNullOrEmpty(errorMessage))
        {
            return RateLimitedBy.Unknown;
        }
        var tokens = TokenMarkers.Any(m => errorMessage.Contains(m, StringComparison.OrdinalIgnoreCase));
        var requests = RequestMarkers.Any(m => errorMessage.Contains(m, StringComparison.OrdinalIgnoreCase));
        return (tokens, requests) switch
        {
            (true, false) => RateLimitedBy.Tokens,
            (false, true) => RateLimitedBy.Requests,
            _ => RateLimitedBy.Unknown,
        };
    }
}
