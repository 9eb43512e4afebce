namespace ActorThrottle.Backend;

/// <summary>
/// Whether a response's rate-limit facts mean the model must pause before its next call, and until when. Pure.
/// A whole-second reset is a bound, not a wait, and a window whose
/// quota and length are known is paced through evenly instead of idled until its end.
/// </summary>
internal static class RateLimitPause
{
    /// <summary>
    /// Null while something remains (or nothing is reported); else the instant the next call may leave. Of an exhausted
    /// request and token limit, the later wait wins. The wait is capped at <paramref name="maxPause"/>.
    /// </summary>
    /// <remarks>
    /// For each exhausted limit (remaining 0, a reset reported), the wait is:
    /// <list type="bullet">
    /// <item>quota and window known (an IETF policy): the window's share of what the next call needs, window × need ÷ quota —
    /// the quota paced evenly (GCRA-like), never longer than the reset. A window ending tens of milliseconds after
    /// <c>reset=1</c> is not idled for a second, and a per-minute window is not idled for most of a minute: a client that
    /// paced correctly only runs out at the window's end.</item>
    /// <item>a limit without a window (OpenAI and Anthropic buckets, refilled continuously, reset = until full again; an IETF
    /// <c>RateLimit-Limit</c>): the reset's share, reset × need ÷ limit, when the next call's worth is back — or a 429's
    /// exact retry-after when that is later (a fixed window or a bucket in debt behind the same headers).</item>
    /// <item>nothing but the remaining count (Azure): a 429's exact retry-after, when the count is 0.</item>
    /// <item>nothing but the reset: an exact reset (Go duration, fractional seconds, an instant with sub-second digits) is
    /// waited for in full; a whole-second one only to the middle of the span it bounds, reset − granularity ÷ 2.</item>
    /// </list>
    /// A call that leaves too early is answered 429 with the provider's own wait, which the caller's adaptation heeds.
    /// </remarks>
    /// <param name="tokensNeeded">Tokens the next call is expected to cost (e.g. the last request's).</param>
    public static DateTimeOffset? Until(RateLimitInfo info, DateTimeOffset now, TimeSpan maxPause, long tokensNeeded = 1)
    {
        ArgumentNullException.ThrowIfNull(info);
        var requests = Wait(info.RemainingRequests, info.ResetRequests, info.ResetRequestsGranularity, info.LimitRequests, info.WindowRequests, 1);
        if (ExactRequestsRetryAfter(info) is { } retryAfter
            && (requests is { } share ? retryAfter > share : info is { ResetRequests: null, LimitRequests: null }))
        {
            // Azure says only what remains: nothing, and the 429's exact retry-after is when requests are back (a 10 s
            // window's end; calls sent before it drew 26 429s in a row on the virtual matrix's multi-azure 2x).
            requests = retryAfter;
        }
        var tokens = Wait(info.RemainingTokens, info.ResetTokens, info.ResetTokensGranularity, info.LimitTokens, null, Math.Max(1, tokensNeeded));
        TimeSpan? wait = requests is { } r && (tokens is not { } t || r >= t) ? r : tokens;
        if (wait is not { } w || w <= TimeSpan.Zero)
        {
            return null;
        }
        return now + (w > maxPause ? maxPause : w);
    }

    /// <summary>The wait one exhausted limit asks for; null when it is not exhausted or says no reset.</summary>
    public static TimeSpan? Wait(long? remaining, TimeSpan? reset, TimeSpan granularity, long? limit, TimeSpan? window, long needed)
    {
        if (remaining != 0 || reset is not { } t || t <= TimeSpan.Zero)
        {
            return null;
        }
        if (limit is { } l && l > 0)
        {
            if (window is { } w && w > TimeSpan.Zero)
            {
                var paced = Ticks(w.Ticks * (double)needed / l);
                return paced < t ? paced : t;
            }
            // A call needing the whole bucket (or more) waits for all of it.
            return needed < l ? Ticks(t.Ticks * (double)needed / l) : t;
        }
        if (granularity > TimeSpan.Zero)
        {
            var middle = t - granularity / 2;
            return middle > TimeSpan.Zero ? middle : t / 2;
        }
        return t;
    }

    /// <summary>
    /// A 429's exact (millisecond) retry-after when it is about the request limit — remaining requests 0, tokens not
    /// exhausted — so it holds for every request: null otherwise. A bucket's share of its reset is when the next call's
    /// worth is back only on a bucket that is not in debt; OpenAI's headers read the same on a fixed window (the reset is
    /// the window's end) and on a bucket that charges rejections (the reset is until full, the debt on top), and there
    /// the provider's exact retry-after is later: calls sent before it are rejected, and charged (benchmarks: fixed 1 s
    /// windows configured 10x too high, 34 % 429s paced at 10 ms).
    /// </summary>
    private static TimeSpan? ExactRequestsRetryAfter(RateLimitInfo info) =>
        info is { RemainingRequests: 0, RetryAfter: { } wait } && info.RetryAfterGranularity < TimeSpan.FromSeconds(1)
        && info.RemainingTokens != 0 && wait > TimeSpan.Zero
            ? wait
            : null;

    /// <summary>
    /// The earliest a rejected request may be retried, from its 429's headers: the retry-after, except for a whole-second one
    /// from an empty bucket whose pace is known (<see cref="RateLimitHints.EmptyBucketPace"/>): then the next request's worth
    /// is back after reset ÷ limit (10 ms on a 100/s bucket that says <c>retry-after: 1</c>), and waiting the whole second
    /// only idles the request. Windows keep their retry-after: retrying a charged window early is charged.
    /// </summary>
    public static TimeSpan? RetryFloor(RateLimitInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.RetryAfter is not { } retryAfter)
        {
            return null;
        }
        if (RateLimitHints.EmptyBucketPace(info) is not null && info.LimitRequests is { } limit && info.ResetRequests is { } reset)
        {
            var paced = Ticks(reset.Ticks / (double)limit);
            return paced < retryAfter ? paced : retryAfter;
        }
        return retryAfter;
    }

    private static TimeSpan Ticks(double ticks) => TimeSpan.FromTicks((long)Math.Ceiling(ticks));
}
