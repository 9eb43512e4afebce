using System.Globalization;
using ActorThrottle.Configuration;

namespace ActorThrottle.Adaptation;

/// <summary>Limits set at run time (<c>SetModelLimits</c>, a configuration reload): a new input of the controller.</summary>
internal sealed partial class RateController
{
    /// <summary>
    /// Takes a model's new settings (validated; only the live limits — requests-per-second or auto, tokens-per-minute,
    /// max/min burst, min-rate — matter here) at <paramref name="now"/>. A rate, burst or token rate at its old ceiling
    /// follows the new ceiling; one that 429s held lower stays and grows towards it; everything is clamped into the new
    /// bounds. From auto to a number, slow start ends and the rate is capped; from a number to auto, the ceiling goes and,
    /// unless a 429 has been seen, slow start probes upward from the current rate. A token limit set where there was none
    /// starts with an emptied token bucket (as a seeded one does); 0 removes it. The change, if any, carries
    /// <see cref="RateChangeReason.LimitsSet"/>.
    /// </summary>
    public RateDecision SetLimits(ModelSettings next, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(next);
        var before = Settings;
        var old = _settings;
        _settings = next;
        var pauses = new List<RatePause>();
        var notes = new List<string>();

        if (next.AutoRate && !old.AutoRate)
        {
            if (!_seenRateLimited)
            {
                RestartSlowStart(now, cap: null);
            }
            if (Origin == RateOrigin.Configured)
            {
                Origin = RateOrigin.Probed;
            }
            notes.Add("requests-per-second = auto");
        }
        else if (!next.AutoRate && old.AutoRate)
        {
            _slowStart?.End("requests-per-second set to a number");
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"requests-per-second = {next.RequestsPerSecond:0.###}"));
        }
        else if (!next.AutoRate && Math.Abs(next.RequestsPerSecond - old.RequestsPerSecond) > 1e-9)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"requests-per-second {old.RequestsPerSecond:0.###} -> {next.RequestsPerSecond:0.###}"));
        }
        if (next.MaxBurst != old.MaxBurst || next.MinBurst != old.MinBurst)
        {
            notes.Add($"burst {old.MinBurst}..{old.MaxBurst} -> {next.MinBurst}..{next.MaxBurst}");
        }
        if (Math.Abs(next.MinRate - old.MinRate) > 1e-9)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"min-rate {old.MinRate:0.###} -> {next.MinRate:0.###}"));
        }
        _aimd.SetLimits(AimdLimits.From(next));
        if (!next.AutoRate && Math.Abs(_aimd.State.Rate - next.RequestsPerSecond) < 1e-9)
        {
            Origin = RateOrigin.Configured;
        }

        if (next.TokensPerMinute != old.TokensPerMinute || next.AutoTokens != old.AutoTokens)
        {
            notes.Add(next.TokensPerMinute == 0 && !next.AutoTokens ? "no token limit"
                : string.Create(CultureInfo.InvariantCulture, $"tokens-per-minute = {next.TokensPerMinute}"));
            if (TokenRateLimits.From(next) is not { } tokenLimits)
            {
                // 0 (or auto with nothing advertised yet): no token limit until one is configured or advertised.
                _tokens = null;
                _seededTokens = null;
            }
            else if (_tokens is null)
            {
                _tokens = new TokenRateController(tokenLimits);
                // The throttle's token bucket had no limit: emptied, it releases only what accrues at the new rate.
                pauses.Add(new RatePause(now, Empty: true, "a token limit starts: the token bucket starts empty"));
            }
            else
            {
                _tokens.SetLimits(tokenLimits);
            }
        }

        var after = Settings;
        var changes = after != before
            ? new[] { new RateChange(now, before, after, RateChangeReason.LimitsSet, string.Join("; ", notes)) }
            : [];
        return changes.Length == 0 && pauses.Count == 0 ? RateDecision.None : new RateDecision(changes, pauses);
    }
}
