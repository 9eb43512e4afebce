namespace ActorThrottle.Configuration;

/// <summary>HOCON <c>adapt { … }</c> of a model: the AIMD parameters.</summary>
public sealed record AdaptSettings(
    double DecreaseFactor,
    double IncreaseStep,
    int IncreaseAfter,
    TimeSpan CoolDown,
    RetryAfterScope PauseOnRetryAfter,
    double SettleFraction = 0.97);
