using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ActorThrottle.Messages;

namespace ActorThrottle.Diagnostics;

/// <summary>
/// The <c>ActorThrottle</c> meter (OpenTelemetry picks it up by name): attempts, successes, 429s, retries,
/// failures by reason, attempt latency, and per model the queue depth, burst window and rate.
/// Never carries an API key: tags are model ids, statuses and reasons.
/// </summary>
public sealed class ActorThrottleMetrics : IDisposable
{
    public const string MeterName = "ActorThrottle";

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<string, ModelGauges> _models = new(StringComparer.Ordinal);
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _successes;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _rateChanges;

    /// <param name="meterFactory">The host's factory; null creates a standalone meter.</param>
    public ActorThrottleMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _attempts = _meter.CreateCounter<long>("actor_throttle.attempts", "{attempt}", "Calls made to the provider.");
        _successes = _meter.CreateCounter<long>("actor_throttle.successes", "{request}", "Requests answered with a completion.");
        _rateLimited = _meter.CreateCounter<long>("actor_throttle.rate_limited", "{attempt}", "Attempts answered 429 rate_limit_exceeded.");
        _retries = _meter.CreateCounter<long>("actor_throttle.retries", "{attempt}", "Retries scheduled.");
        _failures = _meter.CreateCounter<long>("actor_throttle.failures", "{request}", "Requests answered with a failure, by reason.");
        _latency = _meter.CreateHistogram<double>("actor_throttle.attempt.duration", "ms", "Duration of one call to the provider.");
        _rateChanges = _meter.CreateCounter<long>("actor_throttle.rate.changes", "{change}", "Changes of a model's throttle settings (rate, burst, tokens per minute), by reason.");
        _meter.CreateObservableGauge("actor_throttle.queue.depth", () => Observe(g => (double)g.QueueDepth), "{request}", "Requests a model holds (queued, in flight or waiting to retry).");
        _meter.CreateObservableGauge("actor_throttle.burst", () => Observe(g => (double)g.Burst), "{request}", "Current burst window.");
        _meter.CreateObservableGauge("actor_throttle.rate", () => Observe(g => g.Rate), "{request}/s", "Current release rate.");
    }

    /// <summary>The meter, for tests and listeners.</summary>
    public Meter Meter => _meter;

    internal ModelGauges ForModel(string model) => _models.GetOrAdd(model, static _ => new ModelGauges());

    internal void RecordAttempt(string model, int? status, TimeSpan duration)
    {
        var statusTag = status?.ToString() ?? "none";
        _attempts.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("status", statusTag));
        _latency.Record(duration.TotalMilliseconds, new KeyValuePair<string, object?>("model", model));
    }

    internal void RecordRateLimited(string model) => _rateLimited.Add(1, new KeyValuePair<string, object?>("model", model));

    internal void RecordRetry(string model) => _retries.Add(1, new KeyValuePair<string, object?>("model", model));

    /// <summary>A model's throttle settings changed; <c>reason</c> is the <see cref="Adaptation.RateChangeReason"/> (429, overload, header seed, slow start, probe, configured ceiling).</summary>
    internal void RecordRateChange(string model, Adaptation.RateChangeReason reason) =>
        _rateChanges.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("reason", ReasonTag(reason)));

    /// <summary>The <c>reason</c> tag's value: snake case, stable (dashboards key on it).</summary>
    public static string ReasonTag(Adaptation.RateChangeReason reason) => reason switch
    {
        Adaptation.RateChangeReason.RateLimited => "rate_limited",
        Adaptation.RateChangeReason.Overload => "overload",
        Adaptation.RateChangeReason.HeaderSeed => "header_seed",
        Adaptation.RateChangeReason.SlowStart => "slow_start",
        Adaptation.RateChangeReason.Probe => "probe",
        Adaptation.RateChangeReason.ConfiguredCeiling => "configured_ceiling",
        _ => reason.ToString(),
    };

    internal void RecordSuccess(string model) => _successes.Add(1, new KeyValuePair<string, object?>("model", model));

    internal void RecordFailure(string model, FailureReason reason) =>
        _failures.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("reason", reason.ToString()));

    private IEnumerable<Measurement<double>> Observe(Func<ModelGauges, double> read)
    {
        foreach (var (model, gauges) in _models)
        {
            yield return new Measurement<double>(read(gauges), new KeyValuePair<string, object?>("model", model));
        }
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>Last values per model, written by the model's supervisor.</summary>
    internal sealed class ModelGauges
    {
        private long _queueDepth;
        private long _burst;
        private double _rate;

        public long QueueDepth { get => Volatile.Read(ref _queueDepth); set => Volatile.Write(ref _queueDepth, value); }
        public long Burst { get => Volatile.Read(ref _burst); set => Volatile.Write(ref _burst, value); }
        public double Rate { get => Volatile.Read(ref _rate); set => Volatile.Write(ref _rate, value); }
    }
}
