using ActorThrottle.Configuration;

namespace ActorThrottle.Adaptation;

/// <summary>The bounds and steps AIMD works within on a model's token rate, taken from its settings.</summary>
/// <param name="MaxTokensPerMinute">The configured <c>tokens-per-minute</c>: growth stops there.</param>
/// <param name="MinTokensPerMinute">The floor: as far below the configured budget as <c>min-rate</c> is below <c>requests-per-second</c>.</param>
/// <param name="IncreaseStep">Requests per second of growth (<c>adapt.increase-step</c>), turned into tokens with the mean cost of recent requests.</param>
internal sealed record TokenRateLimits(
    double MaxTokensPerMinute,
    double MinTokensPerMinute,
    double DecreaseFactor,
    double IncreaseStep,
    int IncreaseAfter,
    TimeSpan CoolDown,
    double SettleFraction = 0)
{
    /// <summary>The limits of a model with a token budget; null without one.</summary>
    public static TokenRateLimits? From(ModelSettings settings) => settings.TokensPerMinute <= 0 ? null : new(
        settings.TokensPerMinute,
        Math.Clamp(settings.TokensPerMinute * settings.MinRate / settings.RequestsPerSecond, 1, settings.TokensPerMinute),
        settings.Adapt.DecreaseFactor,
        settings.Adapt.IncreaseStep,
        settings.Adapt.IncreaseAfter,
        settings.Adapt.CoolDown,
        settings.Adapt.SettleFraction);
}
