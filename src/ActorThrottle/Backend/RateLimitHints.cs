namespace ActorThrottle.Backend;

/// <summary>
/// Reads the rates a response's rate-limit facts advertise. Pure. (Whether the model must pause is
/// <see cref="RateLimitPause"/>'s.)
/// </summary>
internal static class RateLimitHints
{
    /// <summary>
    /// The sustained rates the headers advertise, with where they came from; null when they say no rate.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>IETF <c>RateLimit-Policy</c> (or <c>RateLimit-Limit</c>'s <c>;w=</c> items): quota ÷ window, the tightest of the
    /// request policies (a <c>concurrent-requests</c> quota is not a rate and is skipped).</item>
    /// <item>A limit, remaining and reset without a window (OpenAI, Anthropic, IETF <c>RateLimit-Limit</c>): OpenAI and
    /// Anthropic document a continuously refilled bucket whose capacity is the limit and whose reset is the time until it
    /// is full again, so (limit − remaining) ÷ reset is its refill rate, whatever the limit's period (per minute on the real
    /// providers, per second in the simulator's per-second shapes). Remaining is a whole number (±1) and the reset is rounded
    /// up, so the estimate is taken only once at least <see cref="MinimumDeficit"/> units (or the whole limit, if smaller)
    /// are spent. Then, with an exact reset (Go durations) and something remaining, it is the bucket's rate within 10 %;
    /// with a whole-second reset (instants, delta-seconds: up to a second long) or nothing remaining (a provider that charges
    /// rejections may be below empty) it is a lower bound, and the source says "at least": take the largest of several
    /// responses. A fixed window sent with these headers is not a bucket: there one
    /// response gives the count so far over the time left, right at mid-window only, so a caller should take the median of
    /// several responses.</item>
    /// <item>Tokens: OpenAI's and Anthropic's token limits are per minute (TPM), as both document.</item>
    /// </list>
    /// </remarks>
    public static AdvertisedLimits? Advertised(RateLimitInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        double? rps = null;
        string? requestsSource = null;
        var windows = info.Policies
            .Where(p => p.Unit == RateLimitPolicy.Requests && p.Quota > 0 && p.Window > TimeSpan.Zero)
            .ToList();
        if (windows.Count > 0)
        {
            rps = windows.Min(p => p.Quota / p.Window.TotalSeconds);
            requestsSource = "RateLimit-Policy quota / window";
        }
        else if (BucketRate(info.LimitRequests, info.RemainingRequests, info.ResetRequests) is { } rate)
        {
            rps = rate;
            requestsSource = info.Dialect switch
            {
                RateLimitDialect.OpenAI => "x-ratelimit-*-requests (limit - remaining) / reset",
                RateLimitDialect.Anthropic => "anthropic-ratelimit-requests-* (limit - remaining) / reset",
                _ => "RateLimit limit (limit - remaining) / reset",
            };
            if (info.ResetRequestsGranularity > TimeSpan.Zero || info.RemainingRequests == 0)
            {
                requestsSource += ", at least";
            }
        }
        double? tpm = null;
        string? tokensSource = null;
        if (info.LimitTokens is { } tokens && tokens > 0 && info.Dialect is RateLimitDialect.OpenAI or RateLimitDialect.Anthropic)
        {
            tpm = tokens;
            tokensSource = info.Dialect == RateLimitDialect.OpenAI ? "x-ratelimit-limit-tokens (per minute)" : "anthropic-ratelimit-tokens-limit (per minute)";
        }
        if (rps is null && tpm is null)
        {
            return null;
        }
        return new AdvertisedLimits(rps, tpm, string.Join("; ", new[] { requestsSource, tokensSource }.Where(x => x is not null)));
    }

    /// <summary>
    /// The refill pace (requests/s, a lower bound) of a continuously refilled bucket that a 429 says is empty, when that 429
    /// is about the bucket's burst and not its pace: null otherwise. It must report the bucket (limit, remaining 0 and a
    /// reset, no window or policy: a window's quota spent is a pace signal, and may be charged) and give its waits in whole
    /// seconds only (a whole-second <c>retry-after</c> T bounds a wait in (T − 1 s, T]; a GCRA with a small burst says
    /// <c>retry-after: 1</c> for a 10 ms wait). An exact <c>retry-after-ms</c> or millisecond reset is taken as said.
    /// </summary>
    /// <remarks>
    /// A bucket holding <c>limit</c> and refilled over the reset cannot be empty at a caller sending below
    /// (limit − ½) ÷ reset, the pace read here, unless the caller's bursts are larger than the bucket's burst tolerance
    /// (throttled, redis-cell: <c>RateLimit-Limit: 100</c> per second, a burst of 5). The caller compares its own rate.
    /// </remarks>
    public static double? EmptyBucketPace(RateLimitInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.RemainingRequests != 0 || info.WindowRequests is not null || info.Policies.Count > 0
            || info.ResetRequestsGranularity < TimeSpan.FromSeconds(1)
            || (info.RetryAfter is not null && info.RetryAfterGranularity < TimeSpan.FromSeconds(1)))
        {
            return null;
        }
        return BucketRate(info.LimitRequests, info.RemainingRequests, info.ResetRequests);
    }

    /// <summary>Units a bucket must have given out before its refill rate is read from one response (±1 of rounding is then ≤ 10 %).</summary>
    public const long MinimumDeficit = 10;

    private static double? BucketRate(long? limit, long? remaining, TimeSpan? reset)
    {
        if (limit is not { } l || l <= 0 || remaining is not { } r || reset is not { } t || t <= TimeSpan.Zero)
        {
            return null;
        }
        var deficit = l - Math.Min(r, l);
        if (deficit < Math.Min(MinimumDeficit, l))
        {
            return null;
        }
        // Remaining is floored: the bucket's true deficit lies in (deficit − 1, deficit]; take the middle.
        return (deficit - 0.5) / t.TotalSeconds;
    }
}
