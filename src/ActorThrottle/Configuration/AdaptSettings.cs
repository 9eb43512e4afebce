namespace ActorThrottle.Configuration;

/// <summary>HOCON <c>adapt { … }</c> of a model: the AIMD parameters.</summary>
public sealed record AdaptSettings(
    double DecreaseFactor,
    double IncreaseStep,
    int IncreaseAfter,
    TimeSpan CoolDown,
    RetryAfterScope PauseOnRetryAfter,
    double SettleFraction = 0.97)
{
    /// <summary>
    /// <c>adapt.auto-start-rate</c>: where <c>requests-per-second = auto</c> starts (requests/s) before slow start probes
    /// upward or the provider's headers seed the rate.
    /// </summary>
    public double AutoStartRate { get; init; } = DefaultAutoStartRate;

    /// <summary>The reference value of <c>adapt.auto-start-rate</c>.</summary>
    public const double DefaultAutoStartRate = 5;
}
