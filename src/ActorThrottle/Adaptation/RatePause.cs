namespace ActorThrottle.Adaptation;

/// <summary>A pause the model's throttle must take: release nothing before <paramref name="Until"/>.</summary>
/// <param name="Empty">Also empty the throttle's buckets, so nothing bursts out when the pause ends (an overload).</param>
/// <param name="Cause">Why, in words: the headers said nothing remains, an overload, the 429's retry-after.</param>
internal sealed record RatePause(DateTimeOffset Until, bool Empty, string Cause);
