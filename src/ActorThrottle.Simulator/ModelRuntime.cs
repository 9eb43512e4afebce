namespace ActorThrottle.Simulator;

/// <summary>What happens to one request.</summary>
internal enum Outcome
{
    Success,
    RateLimited,
    QuotaExceeded,
    Error500,
    Error502,
    Error503,
    Reset,
    Hang,

    /// <summary>A streamed reply that is aborted after <see cref="Decision.BreakAfterChunks"/> content chunks.</summary>
    StreamBreak,

    /// <summary>A scheduled outage: answered with <see cref="Decision.OutageStatus"/> (503 or 529 <c>overloaded_error</c>).</summary>
    Outage,
}

/// <summary>Everything the HTTP layer needs to answer one request, decided at arrival.</summary>
/// <remarks>The stream fields come from the settings at arrival, so a live change never alters a reply mid-stream.</remarks>
internal readonly record struct Decision(
    Outcome Outcome,
    Admission Admission,
    RateLimitHeaderMode HeaderMode,
    TimeSpan Latency,
    TimeSpan HangDuration,
    int CompletionTokens,
    int MaxTokens,
    double Refund,
    bool Stream = false,
    int ChunkTokens = 1,
    TimeSpan ChunkInterval = default,
    int BreakAfterChunks = 0,
    int OutageStatus = 0)
{
    /// <summary>Whether <see cref="ModelRuntime.Release"/> must follow once the request is answered (it holds a concurrency slot).</summary>
    public bool HoldsConcurrency => Admission.HoldsConcurrency;

    /// <summary>Every limit's facts at a rejection or outage (the headers of a reply answered at once); empty otherwise.</summary>
    public IReadOnlyList<LimitFacts> Facts => Admission.Facts ?? [];

    /// <summary>Why the completion ended: <c>length</c> when it used all of max tokens, else <c>stop</c>.</summary>
    public string FinishReason => CompletionTokens >= MaxTokens ? "length" : "stop";
}

/// <summary>
/// One model's live state: settings, buckets, seeded random and statistics, all behind one lock
/// that is held only while deciding (never during latency waits).
/// </summary>
internal sealed class ModelRuntime
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly long _epochTimestamp;
    private readonly TimestampRing _accepted;
    private readonly SortedDictionary<long, MutableCounters> _perSecond = [];
    private readonly MutableCounters _totals = new();
    private ModelSettings _settings;
    private readonly ModelLimiter _limiter;
    private Random _random;
    private long _lastSecond = -1;
    private long? _scheduleOrigin;
    private int _step = -1;
    private MutableCounters? _lastCounters;

    public ModelRuntime(string id, ModelSettings settings, TimeProvider time, long epochTimestamp, int historyCapacity)
    {
        Id = id;
        _time = time;
        _epochTimestamp = epochTimestamp;
        _settings = settings;
        _limiter = new ModelLimiter(settings, time);
        _random = new Random(settings.Seed);
        _accepted = new TimestampRing(historyCapacity);
    }

    public string Id { get; }

    public ModelSettings Settings
    {
        get
        {
            lock (_gate)
            {
                return _settings;
            }
        }
    }

    /// <summary>Applies new settings while running; the random stream restarts only if the seed changed.</summary>
    public void Update(ModelSettings settings)
    {
        lock (_gate)
        {
            _limiter.Reconfigure(settings);
            if (!settings.Schedule.SequenceEqual(_settings.Schedule))
            {
                // Back to "no step, factor 1"; the next request applies the new schedule's step in force.
                _limiter.Rescale(1);
                _step = -1;
            }

            if (settings.Seed != _settings.Seed)
            {
                _random = new Random(settings.Seed);
            }

            _settings = settings;
        }
    }

    public Decision Decide(int promptTokens, int? requestedMaxTokens, bool stream = false)
    {
        lock (_gate)
        {
            var s = _settings;
            var now = _time.GetTimestamp();
            var counters = CountersAt(now);
            var maxTokens = requestedMaxTokens ?? s.DefaultMaxTokens;
            if (ScheduleStepAt(s, now) is { OutageStatus: { } outage })
            {
                counters.ServerErrors++;
                _totals.ServerErrors++;
                return new Decision(Outcome.Outage, new Admission { Facts = _limiter.Facts() }, s.HeaderMode, TimeSpan.Zero, TimeSpan.Zero, 0, maxTokens, 0, OutageStatus: outage);
            }

            if (s.InsufficientQuota)
            {
                counters.QuotaExceeded++;
                _totals.QuotaExceeded++;
                return new Decision(Outcome.QuotaExceeded, new Admission { Facts = _limiter.Facts() }, s.HeaderMode, TimeSpan.Zero, TimeSpan.Zero, 0, maxTokens, 0);
            }

            var cost = (double)promptTokens + maxTokens;
            var admission = _limiter.TryAdmit(cost);
            if (!admission.Admitted)
            {
                var charged = (long)admission.TokensCharged;
                counters.RateLimited++;
                counters.TokensCharged += charged;
                _totals.RateLimited++;
                _totals.TokensCharged += charged;
                return new Decision(Outcome.RateLimited, admission, s.HeaderMode, TimeSpan.Zero, TimeSpan.Zero, 0, maxTokens, 0);
            }

            // Both draws happen for every admitted request so the stream stays aligned whatever the rates are.
            var faultDraw = _random.NextDouble();
            var jitterDraw = _random.NextDouble();
            var outcome = PickOutcome(s, faultDraw);
            var latency = admission.Delay + s.Latency + TimeSpan.FromTicks((long)(s.LatencyJitter.Ticks * jitterDraw));
            var completion = Math.Min(s.CompletionTokens, maxTokens);
            var breakAfter = 0;
            if (stream)
            {
                // Drawn for every admitted stream (never for plain requests), so non-streamed runs keep their old sequence.
                var breakDraw = _random.NextDouble();
                var chunks = CompletionText.ChunkCount(completion, s.StreamChunkTokens);
                if (outcome == Outcome.Success && chunks > 0 && breakDraw < s.StreamBreakRate)
                {
                    outcome = Outcome.StreamBreak;

                    // The same draw, rescaled, picks where the stream breaks: uniform over 1..chunks.
                    breakAfter = Math.Min(chunks, 1 + (int)(breakDraw / s.StreamBreakRate * chunks));
                }
            }

            // Only a completed reply can say how much of max_tokens went unused.
            var refund = outcome == Outcome.Success && s.TokenAccounting == TokenAccounting.Reconcile ? maxTokens - completion : 0;
            var net = (long)cost - refund;
            counters.TokensCharged += net;
            _totals.TokensCharged += net;
            switch (outcome)
            {
                case Outcome.Success:
                    counters.Accepted++;
                    _totals.Accepted++;
                    _accepted.Add(now);
                    if (stream)
                    {
                        counters.Streamed++;
                        _totals.Streamed++;
                    }

                    break;
                case Outcome.StreamBreak:
                    counters.StreamBreaks++;
                    _totals.StreamBreaks++;
                    break;
                case Outcome.Reset:
                    counters.Resets++;
                    _totals.Resets++;
                    break;
                case Outcome.Hang:
                    counters.Hangs++;
                    _totals.Hangs++;
                    break;
                default:
                    counters.ServerErrors++;
                    _totals.ServerErrors++;
                    break;
            }

            return new Decision(
                outcome, admission, s.HeaderMode, latency, s.HangDuration, completion, maxTokens, refund,
                stream, s.StreamChunkTokens, s.StreamChunkInterval, breakAfter);
        }
    }

    public void Refund(double tokens)
    {
        lock (_gate)
        {
            _limiter.Refund(tokens);
        }
    }

    public RateLimitState State()
    {
        lock (_gate)
        {
            return _limiter.State();
        }
    }

    /// <summary>Every limit's facts now (the headers of a success, sent after its latency).</summary>
    public IReadOnlyList<LimitFacts> Facts()
    {
        lock (_gate)
        {
            return _limiter.Facts();
        }
    }

    /// <summary>A request whose decision <see cref="Decision.HoldsConcurrency"/> has been answered (exactly once per such decision).</summary>
    public void Release(Decision decision)
    {
        if (!decision.HoldsConcurrency)
        {
            return;
        }

        lock (_gate)
        {
            _limiter.Release();
        }
    }

    /// <summary>
    /// The schedule step in force at <paramref name="now"/> (the clock starts at the model's first request), applying
    /// its factor to the limits when the step changes; null without a schedule or before its first step.
    /// </summary>
    private ScheduleStep? ScheduleStepAt(ModelSettings s, long now)
    {
        if (s.Schedule.Count == 0)
        {
            return null;
        }

        _scheduleOrigin ??= now;
        var since = _time.GetElapsedTime(_scheduleOrigin.Value, now);
        var step = -1;
        while (step + 1 < s.Schedule.Count && s.Schedule[step + 1].At <= since)
        {
            step++;
        }

        if (step != _step)
        {
            _step = step;
            _limiter.Rescale(step < 0 ? 1 : s.Schedule[step].Factor);
        }

        return step < 0 ? null : s.Schedule[step];
    }

    public int MaxAcceptedInWindow(TimeSpan window)
    {
        long[] stamps;
        lock (_gate)
        {
            stamps = _accepted.ToArray();
        }

        var windowTicks = (long)Math.Ceiling(window.TotalSeconds * _time.TimestampFrequency);
        return SlidingWindow.MaxCount(stamps, Math.Max(1, windowTicks));
    }

    public void ResetStats()
    {
        lock (_gate)
        {
            _perSecond.Clear();
            _totals.Clear();
            _accepted.Clear();
            _lastSecond = -1;
            _lastCounters = null;
        }
    }

    public ModelStats Snapshot(DateTimeOffset epochUtc)
    {
        lock (_gate)
        {
            var epochUnix = epochUtc.ToUnixTimeSeconds();
            var seconds = new List<SecondStats>(_perSecond.Count);
            foreach (var (second, c) in _perSecond)
            {
                seconds.Add(new SecondStats(second, epochUnix + second, c.ToRecord()));
            }

            return new ModelStats(Id, _totals.ToRecord(), seconds);
        }
    }

    private static Outcome PickOutcome(ModelSettings s, double draw)
    {
        var edge = s.Error500Rate;
        if (draw < edge)
        {
            return Outcome.Error500;
        }

        if (draw < (edge += s.Error502Rate))
        {
            return Outcome.Error502;
        }

        if (draw < (edge += s.Error503Rate))
        {
            return Outcome.Error503;
        }

        if (draw < (edge += s.ResetRate))
        {
            return Outcome.Reset;
        }

        return draw < edge + s.HangRate ? Outcome.Hang : Outcome.Success;
    }

    private MutableCounters CountersAt(long timestamp)
    {
        var second = Math.Max(0, (timestamp - _epochTimestamp) / _time.TimestampFrequency);
        if (second == _lastSecond && _lastCounters is not null)
        {
            return _lastCounters;
        }

        if (!_perSecond.TryGetValue(second, out var counters))
        {
            counters = new MutableCounters();
            _perSecond.Add(second, counters);
        }

        _lastSecond = second;
        _lastCounters = counters;
        return counters;
    }

    private sealed class MutableCounters
    {
        public long Accepted;
        public long RateLimited;
        public long QuotaExceeded;
        public long ServerErrors;
        public long Resets;
        public long Hangs;
        public long TokensCharged;
        public long Streamed;
        public long StreamBreaks;

        public StatsCounters ToRecord() =>
            new(Accepted, RateLimited, QuotaExceeded, ServerErrors, Resets, Hangs, TokensCharged, Streamed, StreamBreaks);

        public void Clear() =>
            Accepted = RateLimited = QuotaExceeded = ServerErrors = Resets = Hangs = TokensCharged = Streamed = StreamBreaks = 0;
    }
}
