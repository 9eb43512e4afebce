namespace ActorThrottle.Adaptation;

/// <summary>The decrease of a rate on a 429, shared by the request rate and the token rate. Pure.</summary>
internal static class RateStep
{
    /// <summary>
    /// The rate after a 429 (at most once per cool-down). With a fresh estimate of what the provider accepted below the
    /// rate, it settles at <paramref name="settleFraction"/> of that estimate, but never more than
    /// <paramref name="decreaseFactor"/> lower in one step; that settled rate is returned as learned. Otherwise, when the
    /// rate is to be cut (<paramref name="cutRate"/>: nothing else, such as a burst, can absorb the 429): by the settle
    /// margin when the rate is already at or under the estimate (noise around the limit, not a limit far below), by the
    /// decrease factor without an estimate. Never below <paramref name="minRate"/>, never above <paramref name="rate"/>.
    /// </summary>
    /// <param name="rate">The rate now.</param>
    /// <param name="accepted">The provider's accepted rate as last measured, or null (none, too old, or learning off).</param>
    /// <param name="cutRate">True when the rate itself must come down (the burst is at its floor, or there is none).</param>
    public static (double Rate, double? Learned) Decrease(double rate, double? accepted, double minRate, double decreaseFactor, double settleFraction, bool cutRate)
    {
        var floor = Math.Max(minRate, rate * decreaseFactor);
        if (accepted is { } a && a * settleFraction < rate)
        {
            return (Math.Min(rate, Math.Max(floor, a * settleFraction)), a * settleFraction);
        }
        if (!cutRate)
        {
            return (rate, null);
        }
        if (accepted is not null)
        {
            return (Math.Min(rate, Math.Max(minRate, rate * settleFraction)), null);
        }
        return (Math.Min(rate, floor), null);
    }
}
