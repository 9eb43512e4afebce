using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ActorThrottle.Messages;

namespace ActorThrottle.Diagnostics;

/// <summary>
/// The <c>ActorThrottle</c> meter (OpenTelemetry picks it up by name): the OpenTelemetry GenAI client metrics
/// (<c>gen_ai.client.operation.duration</c> in seconds and <c>gen_ai.client.token.usage</c>, per attempt) beside the
/// throttle's own: attempts, successes, 429s, retries, failures by reason, queue wait, pauses, rate changes by reason,
/// and per model the queue depth, burst window and rate. Never carries an API key: tags are model ids, hosts, statuses and reasons.
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
    private readonly Histogram<double> _operationDuration;
    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<double> _queueWait;
    private readonly Counter<long> _pauses;

    // The GenAI conventions' advised bucket boundaries (seconds, tokens).
    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
    private static readonly double[] QueueWaitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    /// <param name="meterFactory">The host's factory; null creates a standalone meter.</param>
    public ActorThrottleMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _attempts = _meter.CreateCounter<long>("actor_throttle.attempts", "{attempt}", "Calls made to the provider.");
        _successes = _meter.CreateCounter<long>("actor_throttle.successes", "{request}", "Requests answered with a completion.");
        _rateLimited = _meter.CreateCounter<long>("actor_throttle.rate_limited", "{attempt}", "Attempts answered 429 rate_limit_exceeded.");
        _retries = _meter.CreateCounter<long>("actor_throttle.retries", "{attempt}", "Retries scheduled.");
        _failures = _meter.CreateCounter<long>("actor_throttle.failures", "{request}", "Requests answered with a failure, by reason.");
        _latency = _meter.CreateHistogram<double>("actor_throttle.attempt.duration", "ms", "Deprecated (removed after the next release): use gen_ai.client.operation.duration (seconds). Duration of one call to the provider.");
        _operationDuration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "GenAI operation duration: one call to the provider.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _tokenUsage = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Number of input and output tokens used, as the provider reported them.",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _queueWait = _meter.CreateHistogram<double>("actor_throttle.queue.wait", "s", "Time an attempt waited in its model's queue and throttle, from admission (retries: from re-entering the queue) to its send.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = QueueWaitBuckets });
        _pauses = _meter.CreateCounter<long>("actor_throttle.pauses", "{pause}", "Pauses of a model's throttle (headers said nothing remains, a retry-after, an overload, an outage); emptied = the buckets were emptied too; outage = most attempts failed with server errors.");
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

    /// <summary>One answered attempt: the throttle's counters, the GenAI duration and token usage, and the attempt's queue wait.</summary>
    internal void RecordAttempt(Configuration.ModelSettings settings, Models.WorkItem item, Backend.BackendResponse response, DateTimeOffset sentAt, TimeSpan duration)
    {
        RecordAttempt(settings.ModelId, response.StatusCode, duration);
        _queueWait.Record(item.QueueWaitUntil(sentAt).TotalSeconds, new KeyValuePair<string, object?>("model", settings.ModelId));
        var endpoint = settings.Route.Endpoint;
        var tags = new TagList
        {
            { GenAiAttributes.OperationName, GenAiAttributes.Chat },
            { GenAiAttributes.RequestModel, settings.ProviderModel ?? settings.ModelId },
            { GenAiAttributes.ProviderName, GenAiProvider.Of(endpoint) },
            { GenAiAttributes.ServerAddress, endpoint.Host },
            { GenAiAttributes.ServerPort, endpoint.Port },
        };
        if (response.Kind != Backend.OutcomeKind.Success)
        {
            tags.Add(GenAiAttributes.ErrorType, ThrottleTracing.ErrorType(response));
        }
        _operationDuration.Record(duration.TotalSeconds, tags);
        if (response.Kind == Backend.OutcomeKind.Success && response.Usage is { } usage)
        {
            var input = tags;
            input.Add(GenAiAttributes.TokenType, "input");
            _tokenUsage.Record(usage.PromptTokens, input);
            var output = tags;
            output.Add(GenAiAttributes.TokenType, "output");
            _tokenUsage.Record(usage.CompletionTokens, output);
        }
    }

    /// <summary>The model's throttle paused; <paramref name="emptied"/>: its buckets were emptied too (an overload).</summary>
    internal void RecordPause(string model, bool emptied, bool outage) =>
        _pauses.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("emptied", emptied), new KeyValuePair<string, object?>("outage", outage));

    internal void RecordRateLimited(string model) => _rateLimited.Add(1, new KeyValuePair<string, object?>("model", model));

    internal void RecordRetry(string model) => _retries.Add(1, new KeyValuePair<string, object?>("model", model));

    /// <summary>A model's throttle settings changed; <c>reason</c> is the <see cref="Adaptation.RateChangeReason"/> (429, overload, header seed, slow start, probe, configured ceiling).</summary>
    internal void RecordRateChange(string model, Adaptation.RateChangeReason reason) =>
        _rateChanges.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("reason", ReasonTag(reason)));

    /// <summary>The <c>reason</c> tag's value: snake case, stable (dashboards key on it).</summary>
    internal static string ReasonTag(Adaptation.RateChangeReason reason) => reason switch
    {
        Adaptation.RateChangeReason.RateLimited => "rate_limited",
        Adaptation.RateChangeReason.Overload => "overload",
        Adaptation.RateChangeReason.HeaderSeed => "header_seed",
        Adaptation.RateChangeReason.SlowStart => "slow_start",
        Adaptation.RateChangeReason.Probe => "probe",
        Adaptation.RateChangeReason.ConfiguredCeiling => "configured_ceiling",
        Adaptation.RateChangeReason.LimitsSet => "limits_set",
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
