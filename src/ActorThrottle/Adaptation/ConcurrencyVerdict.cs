namespace ActorThrottle.Adaptation;

/// <summary>What <see cref="ConcurrencyLimitDetector.OnOutcome"/> made of one attempt's outcome.</summary>
/// <param name="ConcurrencyLimited">The attempt was a 429 of a concurrency cap: it must not lower the request rate.</param>
/// <param name="Limit">The in-flight limit to apply now.</param>
/// <param name="Changed">Whether <paramref name="Limit"/> differs from before this outcome.</param>
internal readonly record struct ConcurrencyVerdict(bool ConcurrencyLimited, int Limit, bool Changed);
