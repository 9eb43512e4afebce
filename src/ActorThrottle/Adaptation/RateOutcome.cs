using ActorThrottle.Backend;

namespace ActorThrottle.Adaptation;

/// <summary>
/// One answered attempt, as rate control sees it: its kind, when it was sent and answered, what it cost in tokens, and the
/// provider's rate-limit headers. A recorded list of these replays a model's rate decisions exactly.
/// </summary>
/// <param name="Cause">For a 429: which limit it was about (<see cref="RateLimitCause"/>); ignored otherwise.</param>
/// <param name="Streamed">The attempt failed after stream chunks reached the caller: it counts as a plain 429 step, nothing more.</param>
internal sealed record RateOutcome(
    OutcomeKind Kind,
    DateTimeOffset SentAt,
    DateTimeOffset AnsweredAt,
    long Cost,
    RateLimitInfo Headers,
    RateLimitedBy Cause = RateLimitedBy.Unknown,
    bool Streamed = false)
{
    public static RateOutcome Success(DateTimeOffset sentAt, DateTimeOffset answeredAt, long cost = 1, RateLimitInfo? headers = null) =>
        new(OutcomeKind.Success, sentAt, answeredAt, cost, headers ?? RateLimitInfo.None);

    public static RateOutcome RateLimited(DateTimeOffset sentAt, DateTimeOffset answeredAt, long cost = 1, RateLimitInfo? headers = null, RateLimitedBy cause = RateLimitedBy.Unknown) =>
        new(OutcomeKind.RateLimited, sentAt, answeredAt, cost, headers ?? RateLimitInfo.None, cause);

    public static RateOutcome Transient(DateTimeOffset sentAt, DateTimeOffset answeredAt, RateLimitInfo? headers = null) =>
        new(OutcomeKind.Transient, sentAt, answeredAt, 0, headers ?? RateLimitInfo.None);
}
