using ActorThrottle.Configuration;

namespace ActorThrottle.Adaptation;

/// <summary>The bounds and steps AIMD works within, taken from a model's settings. <c>MaxRate</c> is infinite with <c>requests-per-second = auto</c>.</summary>
internal sealed record AimdLimits(
    int MaxBurst,
    int MinBurst,
    double MaxRate,
    double MinRate,
    double DecreaseFactor,
    double IncreaseStep,
    int IncreaseAfter,
    TimeSpan CoolDown,
    double SettleFraction = 0)
{
    public static AimdLimits From(ModelSettings settings) => new(
        settings.MaxBurst,
        settings.MinBurst,
        settings.RateCeiling,
        settings.MinRate,
        settings.Adapt.DecreaseFactor,
        settings.Adapt.IncreaseStep,
        settings.Adapt.IncreaseAfter,
        settings.Adapt.CoolDown,
        settings.Adapt.SettleFraction);
}
