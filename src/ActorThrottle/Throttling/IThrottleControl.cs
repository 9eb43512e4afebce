namespace ActorThrottle.Throttling;

/// <summary>
/// Changes a running <see cref="AdaptiveThrottle{T}"/>. Safe from any thread: calls are marshalled into the
/// stage and take effect at once (a waiting element is re-timed under the new settings).
/// </summary>
internal interface IThrottleControl
{
    /// <summary>The settings as last applied.</summary>
    ThrottleSnapshot Current { get; }

    void SetRate(double requestsPerSecond);

    void SetBurst(int burst);

    void SetTokensPerMinute(long tokensPerMinute);

    /// <summary>Releases nothing before <paramref name="until"/>.</summary>
    void PauseUntil(DateTimeOffset until);

    /// <summary>
    /// Releases nothing before <paramref name="until"/>, and empties both buckets now, so that what leaves after the pause is
    /// only what accrues during it at the (new) rates: no burst into a provider whose own bucket was just emptied.
    /// </summary>
    void PauseEmptyUntil(DateTimeOffset until);

    /// <summary>Returns unused tokens to the token bucket.</summary>
    void Refund(long tokens);
}
