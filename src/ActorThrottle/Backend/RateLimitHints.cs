namespace ActorThrottle.Backend;

/// <summary>Decides, from a response's rate-limit facts, whether the model must pause before the next call.</summary>
internal static class RateLimitHints
{
    /// <summary>
    /// When remaining requests (or tokens) is 0, the model pauses until the next call can be admitted; the later of
    /// the two waits wins. Null when nothing says to pause. The wait is capped at <paramref name="maxPause"/>.
    /// </summary>
    /// <remarks>
    /// OpenAI and Anthropic report the time until their bucket is <em>full</em> again. Pausing for all of it would
    /// idle a model for up to a minute when one request's worth comes back in <c>reset / limit</c>; so when the limit is
    /// reported, the pause lasts until <paramref name="tokensNeeded"/> tokens (or one request) have been replenished.
    /// Without a limit (fixed windows such as the IETF draft's), the pause lasts until the reset.
    /// </remarks>
    /// <param name="tokensNeeded">Tokens the next call is expected to cost (e.g. the last request's).</param>
    public static DateTimeOffset? PauseUntil(RateLimitInfo info, DateTimeOffset now, TimeSpan maxPause, long tokensNeeded = 1)
    {
        TimeSpan? wait = null;
        if (info.RemainingRequests == 0 && info.ResetRequests is { } requestsReset)
        {
            wait = Share(requestsReset, 1, info.LimitRequests);
        }
        if (info.RemainingTokens == 0 && info.ResetTokens is { } tokensReset)
        {
            var tokensWait = Share(tokensReset, Math.Max(1, tokensNeeded), info.LimitTokens);
            if (wait is null || tokensWait > wait)
            {
                wait = tokensWait;
            }
        }
        if (wait is not { } w || w <= TimeSpan.Zero)
        {
            return null;
        }
        return now + (w > maxPause ? maxPause : w);
    }

    private static TimeSpan Share(TimeSpan reset, long needed, long? limit) =>
        limit is { } l && l > 0 && needed < l
            ? TimeSpan.FromTicks((long)Math.Ceiling(reset.Ticks * (double)needed / l))
            : reset;
}
