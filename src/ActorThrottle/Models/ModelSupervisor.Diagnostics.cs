using ActorThrottle.Backend;

namespace ActorThrottle.Models;

/// <summary>Gauges, the status reply and the per-attempt log line.</summary>
internal sealed partial class ModelSupervisor
{
    private void PublishGauges()
    {
        _gauges.QueueDepth = _ledger.Count;
        _gauges.Burst = _rate.Settings.Burst;
        _gauges.Rate = _rate.Settings.Rate;
    }

    private ModelStatus Status()
    {
        var paused = _throttle?.Current.PausedUntil;
        return new ModelStatus(
            _settings.ModelId,
            _ledger.Count,
            _rate.Settings.Burst,
            _rate.Settings.Rate,
            paused is { } p && p > _time.GetUtcNow() ? p : null,
            _answered)
        {
            TokensPerMinute = _rate.TokensPerMinute,
            Recent = _recent.Summarise(_time.GetUtcNow()),
            RateFoundBy = Describe(_rate.Origin),
            RateChanges = _rateChanges,
            InFlightLimit = _concurrency.Limit,
            Limits = LimitsInForce(),
        };
    }

    private void LogAttempt(LedgerEntry entry, WorkItem item, BackendResponse response, TimeSpan elapsed)
    {
        // A permanent 4xx (a bad key, a wrong URL, a bad request) will not get better by itself: a warning naming the URL called.
        var permanent4xx = response.Kind == OutcomeKind.Permanent && response.StatusCode is >= 400 and < 500;
        var level = response.Kind == OutcomeKind.Success ? Serilog.Events.LogEventLevel.Debug
            : permanent4xx ? Serilog.Events.LogEventLevel.Warning : Serilog.Events.LogEventLevel.Information;
        var error = response.ErrorCode is null ? "" : $" ({response.ErrorCode})";
        if (permanent4xx)
        {
            error += $": POST {_settings.Route.ChatCompletionsDisplay} answered {response.StatusCode}, not retried" + (response.ErrorMessage is { Length: > 0 } m ? $" ({m})" : "");
        }
        // The attempt span's ids (or the caller's trace when nobody listens to spans), for joining logs to traces.
        var trace = item.AttemptSpan != default ? item.AttemptSpan : item.Trace;
        var log = trace == default ? _log
            : _log.ForContext("TraceId", trace.TraceId.ToHexString()).ForContext("SpanId", trace.SpanId.ToHexString());
        log.Write(level,
            "Attempt {Attempt} of {RequestId} to {Route} model {Model}: {Outcome} status {Status} in {LatencyMs:0.0} ms, {Tokens} tokens, burst {Burst}, rate {Rate:0.###}/s{Error:l}",
            item.Attempt,
            entry.Request.RequestId,
            _settings.Route.Display,
            _settings.ModelId,
            response.Kind,
            response.StatusCode,
            elapsed.TotalMilliseconds,
            response.Usage?.TotalTokens ?? entry.Cost.Total,
            _rate.Settings.Burst,
            _rate.Settings.Rate,
            error);
    }

    private static string DescribeProviderError(BackendResponse response) =>
        (response.StatusCode is { } s ? $"HTTP {s}" : "no HTTP answer")
        + (response.ErrorCode is { } c ? $" {c}" : "")
        + (response.ErrorMessage is { } m ? $": {m}" : "");
}
