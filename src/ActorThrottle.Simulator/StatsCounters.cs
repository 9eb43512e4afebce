namespace ActorThrottle.Simulator;

/// <summary>Counts of outcomes, as the provider saw them.</summary>
/// <param name="Accepted">Requests admitted by the limits and answered 200 (streamed or not; broken streams excluded).</param>
/// <param name="RateLimited">429 <c>rate_limit_exceeded</c> replies (requests or tokens).</param>
/// <param name="QuotaExceeded">429 <c>insufficient_quota</c> replies.</param>
/// <param name="ServerErrors">Injected 500, 502 and 503 replies.</param>
/// <param name="Resets">Injected connection resets.</param>
/// <param name="Hangs">Injected hangs.</param>
/// <param name="TokensCharged">Tokens taken from the budget, net of reconcile refunds (charged even without a token limit).</param>
/// <param name="Streamed">Of <paramref name="Accepted"/>, the requests answered as a stream of server-sent events.</param>
/// <param name="StreamBreaks">Injected stream breaks: admitted, answered 200, then aborted mid-stream.</param>
public sealed record StatsCounters(
    long Accepted,
    long RateLimited,
    long QuotaExceeded,
    long ServerErrors,
    long Resets,
    long Hangs,
    long TokensCharged,
    long Streamed = 0,
    long StreamBreaks = 0)
{
    /// <summary>All 429 replies: <see cref="RateLimited"/> + <see cref="QuotaExceeded"/>.</summary>
    public long Rejected429 => RateLimited + QuotaExceeded;

    /// <summary>All counters zero.</summary>
    public static StatsCounters Zero { get; } = new(0, 0, 0, 0, 0, 0, 0);

    /// <summary>The sum of two sets of counters.</summary>
    /// <param name="other">The counters to add.</param>
    public StatsCounters Add(StatsCounters other) => new(
        Accepted + other.Accepted,
        RateLimited + other.RateLimited,
        QuotaExceeded + other.QuotaExceeded,
        ServerErrors + other.ServerErrors,
        Resets + other.Resets,
        Hangs + other.Hangs,
        TokensCharged + other.TokensCharged,
        Streamed + other.Streamed,
        StreamBreaks + other.StreamBreaks);
}
