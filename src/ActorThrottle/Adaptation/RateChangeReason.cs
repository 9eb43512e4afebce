namespace ActorThrottle.Adaptation;

/// <summary>Why a model's throttle settings changed (the <c>reason</c> tag of the rate-change counter).</summary>
internal enum RateChangeReason
{
    /// <summary>A 429 (at most one decrease per cool-down): burst and/or rate down, settling under the accepted rate.</summary>
    RateLimited,
    /// <summary>Most attempts of a cool-down were rejected: the model paused and resumes at a rate cut in one step.</summary>
    Overload,
    /// <summary>The provider advertised its limit in its headers and the rate was set from it.</summary>
    HeaderSeed,
    /// <summary>Slow start (nothing configured, nothing advertised): a multiplicative increase after a round of successes.</summary>
    SlowStart,
    /// <summary>Additive increase after a run of successes: growing back after a decrease, or probing above the learned rate.</summary>
    Probe,
    /// <summary>A seed or a probe reached the configured number, which the rate never exceeds.</summary>
    ConfiguredCeiling,
    /// <summary>The model's limits were set at run time (SetModelLimits, a configuration reload): new ceilings or bounds.</summary>
    LimitsSet,
}
