namespace ActorThrottle.Adaptation;

/// <summary>A pause the model's throttle must take: release nothing before <paramref name="Until"/>.</summary>
/// <param name="Empty">Also empty the throttle's buckets, so nothing bursts out when the pause ends (an overload).</param>
/// <param name="Cause">Why, in words: the headers said nothing remains, an overload, the 429's retry-after, an outage.</param>
/// <param name="Outage">Most attempts failed with server errors (<see cref="RateController.InOutage"/>): told as a warning, as no rate change tells it.</param>
internal sealed record RatePause(DateTimeOffset Until, bool Empty, string Cause, bool Outage = false);
