namespace ActorThrottle.Backend;

/// <summary>Decides, from a response's rate-limit facts, whether the model must pause before the next call.</summary>
public static class RateLimitHints
{
    /// <summary>
    /// When remaining requests (or tokens) is 0, the model pauses until the matching reset; the later of the two
    /// wins. Null when nothing says to pause. A reset is capped at <paramref name="maxPause"/>.
    /// </summary>
    public static DateTimeOffset? PauseUntil(RateLimitInfo info, DateTimeOffset now, TimeSpan maxPause)
    {
        TimeSpan? wait = null;
        if (info.RemainingRequests == 0 && info.ResetRequests is { } requestsReset)
        {
            wait = requestsReset;
        }
        if (info.RemainingTokens == 0 && info.ResetTokens is { } tokensReset && (wait is null || tokensReset > wait))
        {
            wait = tokensReset;
        }
        if (wait is not { } w || w <= TimeSpan.Zero)
        {
            return null;
        }
        return now + (w > maxPause ? maxPause : w);
    }
}
