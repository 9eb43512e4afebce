using ActorThrottle.Adaptation;

namespace ActorThrottle.Models;

/// <summary>Wiring rate control to the throttle: each <see cref="RateDecision"/> becomes throttle settings, pauses, a gate limit, one log line and a counted change.</summary>
internal sealed partial class ModelSupervisor
{
    /// <summary>The in-flight limit: the concurrency detector's, or one while the provider is down (<see cref="RateController.InOutage"/>): a single probe at a time.</summary>
    private int GateLimit => _rate.InOutage ? 1 : _concurrency.Limit;

    /// <summary>Applies a decision of rate control: an outage's start or end, then its pauses in order, then the settings it holds now.</summary>
    private void Apply(RateDecision decision)
    {
        if (decision.OutageBegan || decision.OutageEnded)
        {
            _gate?.SetLimit(GateLimit);
        }
        if (decision.OutageEnded)
        {
            ReleaseOutageRetries();
        }
        if (decision.OutageBegan)
        {
            FallBackFromOutage();
        }
        foreach (var pause in decision.Pauses)
        {
            _metrics.RecordPause(_settings.ModelId, pause.Empty, pause.Outage);
            if (pause.Outage)
            {
                // No rate change tells an outage: it is told here, as a warning when it begins; each failed probe's pause
                // after that at Debug (a long outage probes every retry.base-delay).
                _log.Write(decision.OutageBegan ? Serilog.Events.LogEventLevel.Warning : Serilog.Events.LogEventLevel.Debug,
                    "Model {Model} paused until {Until:O}: {Cause:l}", _settings.ModelId, pause.Until, pause.Cause);
            }
            if (pause.Empty)
            {
                _throttle?.PauseEmptyUntil(pause.Until);
                _concurrency.Paused(pause.Until);
            }
            else
            {
                _throttle?.PauseUntil(pause.Until);
            }
        }
        foreach (var change in decision.Changes)
        {
            // The one place a rate change is told: once, with its reason, in the log and the meter. Growth steps are many
            // (one per run of successes) and say little, so they go at Debug; every decrease, seed and pause at Information.
            _rateChanges++;
            _metrics.RecordRateChange(_settings.ModelId, change.Reason);
            _log.Write(change.Reason is RateChangeReason.Probe ? Serilog.Events.LogEventLevel.Debug : Serilog.Events.LogEventLevel.Information,"Rate of {Model}: {OldRate:0.###}/s burst {OldBurst}{OldTokens:l} -> {Rate:0.###}/s burst {Burst}{Tokens:l} ({Reason}: {Detail:l})",
                _settings.ModelId, change.Before.Rate, change.Before.Burst, TokensText(change.Before), change.After.Rate, change.After.Burst, TokensText(change.After),
                change.Reason, change.Detail);
        }
        if (decision.Changes.Count > 0)
        {
            ApplySettings();
        }
    }

    private static string Describe(RateOrigin origin) => origin switch
    {
        RateOrigin.SeededFromHeaders => "seeded from headers",
        RateOrigin.Probed => "probed",
        _ => "configured",
    };

    private static string TokensText(ThrottleSettings settings) => settings.TokensPerMinute > 0 ? $", {settings.TokensPerMinute} tokens/min" : "";

    /// <summary>Brings the throttle to the settings rate control holds.</summary>
    private void ApplySettings()
    {
        var state = _rate.Settings;
        if (_throttle is { } throttle)
        {
            var current = throttle.Current;
            if (current.Burst != state.Burst)
            {
                throttle.SetBurst(state.Burst);
            }
            if (Math.Abs(current.Rate - state.Rate) > 1e-9)
            {
                throttle.SetRate(state.Rate);
            }
            if (state.TokensPerMinute > 0 && state.TokensPerMinute != current.TokensPerMinute)
            {
                throttle.SetTokensPerMinute(state.TokensPerMinute);
            }
            else if (state.TokensPerMinute == 0 && current.TokensPerMinute > 0 && _limitsSet)
            {
                // Only a limit set at run time removes a token limit (tokens-per-minute = 0); rate control never does.
                throttle.SetTokensPerMinute(0);
            }
        }
        PublishGauges();
    }
}
