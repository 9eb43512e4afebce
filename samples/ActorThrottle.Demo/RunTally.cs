using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ActorThrottle.Messages;

namespace ActorThrottle.Demo;

/// <summary>What the caller side saw for one model: sends and replies. Thread-safe.</summary>
internal sealed class ModelTally(string model)
{
    private readonly object _gate = new();
    private readonly List<double> _latencyMs = [];
    private readonly List<double> _endToEndMs = [];
    private readonly Dictionary<FailureReason, int> _failures = [];
    private readonly Dictionary<Priority, List<double>> _endToEndByLane = [];
    private readonly List<double> _firstChunkMs = [];
    private long _chunks;
    private int _streamedAnswers;
    private int _sent;
    private int _successes;
    private int _failed;
    private int _unanswered;
    private long _lastReplyTicks;

    public string Model { get; } = model;
    public int Sent => Volatile.Read(ref _sent);
    public int Successes => Volatile.Read(ref _successes);
    public int Failed => Volatile.Read(ref _failed);
    public int Unanswered => Volatile.Read(ref _unanswered);
    public int Done => Successes + Failed + Unanswered;

    /// <summary>The last failure's message (the engine redacts keys), to explain an unreachable endpoint.</summary>
    public string? LastFailureMessage { get; private set; }

    public void RecordSent() => Interlocked.Increment(ref _sent);

    /// <summary>The first streamed success's chunks, to show what a stream looks like.</summary>
    public SampleStream? SampleStream { get; private set; }

    /// <param name="firstChunk">Streams: from the send to the first chunk (null when none came).</param>
    /// <param name="chunks">Streams: the chunks' text in order (null for ordinary requests).</param>
    public void RecordReply(ChatReply reply, TimeSpan endToEnd, long nowTicks, Priority lane = Priority.Interactive,
        TimeSpan? firstChunk = null, IReadOnlyList<string>? chunks = null)
    {
        lock (_gate)
        {
            if (firstChunk is { } ttfc)
            {
                _firstChunkMs.Add(ttfc.TotalMilliseconds);
            }
            switch (reply)
            {
                case ChatSuccess success:
                    _successes++;
                    _latencyMs.Add(success.Latency.TotalMilliseconds);
                    _endToEndMs.Add(endToEnd.TotalMilliseconds);
                    if (!_endToEndByLane.TryGetValue(lane, out var laneSamples))
                    {
                        _endToEndByLane[lane] = laneSamples = [];
                    }
                    laneSamples.Add(endToEnd.TotalMilliseconds);
                    if (chunks is not null)
                    {
                        _streamedAnswers++;
                        _chunks += chunks.Count;
                        SampleStream ??= new SampleStream(success.RequestId, Model, chunks.ToList(), success.Content);
                    }
                    break;
                case ChatFailure failure:
                    _failed++;
                    _failures[failure.Reason] = _failures.GetValueOrDefault(failure.Reason) + 1;
                    LastFailureMessage = failure.Message;
                    break;
            }
            _lastReplyTicks = Math.Max(_lastReplyTicks, nowTicks);
        }
    }

    public void RecordUnanswered(long nowTicks)
    {
        lock (_gate)
        {
            _unanswered++;
            _lastReplyTicks = Math.Max(_lastReplyTicks, nowTicks);
        }
    }

    public (IReadOnlyList<double> LatencyMs, IReadOnlyList<double> EndToEndMs, IReadOnlyDictionary<FailureReason, int> Failures, long LastReplyTicks) Snapshot()
    {
        lock (_gate)
        {
            return (_latencyMs.ToList(), _endToEndMs.ToList(), new Dictionary<FailureReason, int>(_failures), _lastReplyTicks);
        }
    }

    public (IReadOnlyList<double> FirstChunkMs, long Chunks, int Answers) StreamSnapshot()
    {
        lock (_gate)
        {
            return (_firstChunkMs.ToList(), _chunks, _streamedAnswers);
        }
    }

    /// <summary>Successes' caller-side latency (queueing included) per lane.</summary>
    public IReadOnlyDictionary<Priority, IReadOnlyList<double>> LaneSnapshot()
    {
        lock (_gate)
        {
            return _endToEndByLane.ToDictionary(l => l.Key, l => (IReadOnlyList<double>)l.Value.ToList());
        }
    }

    /// <summary>True when nothing succeeded and every failure was transient (5xx, timeout, connection error).</summary>
    public bool AllTransient
    {
        get
        {
            lock (_gate)
            {
                return _successes == 0 && _failed > 0 && _failures.Keys.All(r => r == FailureReason.Transient);
            }
        }
    }
}

/// <summary>One streamed answer as it arrived: its chunks in order and the text of the terminal reply.</summary>
internal sealed record SampleStream(string RequestId, string Model, IReadOnlyList<string> Chunks, string? Content);

/// <summary>Per-model counters read from the engine's <c>ActorThrottle</c> meter (one meter instance: this engine's).</summary>
internal sealed class MeterTally : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Model, string Instrument), long> _counts = new();

    public MeterTally(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? model = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "model")
                {
                    model = tag.Value as string;
                }
            }
            if (model is not null)
            {
                _counts.AddOrUpdate((model, instrument.Name), value, (_, old) => old + value);
            }
        });
        _listener.Start();
    }

    public long Attempts(string model) => Get(model, "actor_throttle.attempts");
    public long RateLimited(string model) => Get(model, "actor_throttle.rate_limited");
    public long Retries(string model) => Get(model, "actor_throttle.retries");

    // A model with deployments is counted under each deployment's id ("model@name"): its figures are their sum.
    private long Get(string model, string instrument) =>
        _counts.Where(c => c.Key.Item2 == instrument && (c.Key.Item1 == model || c.Key.Item1.StartsWith(model + "@", StringComparison.Ordinal))).Sum(c => c.Value);

    public void Dispose() => _listener.Dispose();
}

/// <summary>A monotonic clock for the run.</summary>
internal static class RunClock
{
    public static long Now => Stopwatch.GetTimestamp();

    public static TimeSpan Between(long from, long to) => Stopwatch.GetElapsedTime(from, to);
}
