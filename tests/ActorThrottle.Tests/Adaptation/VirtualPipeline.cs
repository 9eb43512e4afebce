using ActorThrottle.Adaptation;
using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Retry;
using ActorThrottle.Throttling;
using ActorThrottle.Tokens;
using Microsoft.Extensions.Time.Testing;
using EngineAccounting = ActorThrottle.Configuration.TokenAccounting;
using EngineSettings = ActorThrottle.Configuration.ModelSettings;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// One model of the engine on virtual time, 1 ms steps, no threads, wired as <see cref="Models.ModelSupervisor"/> and
/// <see cref="Models.ModelActor"/> wire it, from the real pieces: a queue where retries go ahead of first attempts; the
/// adaptive throttle's <see cref="ThrottleBuckets"/> (rate, burst, tokens, pauses) holding one element and releasing it
/// when the stream has room (at most <c>max-in-flight</c> released and unanswered), its timer firing on Akka's 10 ms tick
/// grid; the <see cref="InFlightGate"/>'s limit from <see cref="ConcurrencyLimitDetector"/>; each answer to the detector,
/// to the <see cref="RateController"/> (unless a concurrency cap's 429), then a token refund (reconcile) or
/// <see cref="RetryDelay"/> (never before retry-after, full jitter, <c>retry.max-attempts</c>, the retry budget for
/// non-429s) with the retry timer on the same tick grid. The provider is a <see cref="SimulatorShape"/>; answers reach the
/// engine a transit time after the provider writes them.
/// </summary>
internal sealed class VirtualPipeline
{
    /// <summary>A whole minute: runs start here plus their phase (<see cref="VirtualMatrixOptions.Phase"/>).</summary>
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Akka's scheduler fires timers on a 10 ms tick grid: the throttle's release timer and the retry timers.</summary>
    public static readonly TimeSpan Tick = AdaptiveThrottle<object>.DefaultTick;


    private readonly EngineSettings _settings;
    private readonly SimulatorShape _provider;
    private readonly FakeTimeProvider _clock;
    private readonly Random _random;
    private readonly Func<TimeSpan> _transit;
    private readonly Func<TimeSpan> _timerLate;
    private readonly RateController _rate;
    private readonly ConcurrencyLimitDetector _concurrency;
    private readonly RetryBudget _budget;
    private readonly ThrottleBuckets _buckets;
    private readonly Queue<VirtualRequest> _retries = new();
    private readonly Queue<VirtualRequest> _firsts = new();
    private readonly Queue<VirtualRequest> _gateWaiting = new();
    private readonly PriorityQueue<Flight, (DateTimeOffset, long)> _atProvider = new();
    private readonly PriorityQueue<(Flight Flight, BackendResponse Response), (DateTimeOffset, long)> _onTheWire = new();
    private readonly PriorityQueue<VirtualRequest, (DateTimeOffset, long)> _retryTimers = new();
    private VirtualRequest? _pending;
    private DateTimeOffset? _timerDue;
    private DateTimeOffset _timerAsked;
    private int _stage;
    private int _inFlight;
    private int _gateLimit;
    private long _sequence;
    private int _answered;

    /// <param name="clock">The clock the provider reads; the run starts at its time (<see cref="Start"/>).</param>
    /// <param name="random">The supervisor's random (retry jitter); the benchmark's engine gets <c>new Random(17)</c>.</param>
    /// <param name="transit">
    /// How long an answer takes from the provider's write to the engine's supervisor (HTTP, SDK, the stream, actor messages),
    /// drawn per answer; the provider's concurrency slot is free from the write on.
    /// </param>
    /// <param name="timerLate">How late a timer fires after its tick (a busy machine's scheduler thread), drawn per timer.</param>
    public VirtualPipeline(EngineSettings settings, SimulatorShape provider, FakeTimeProvider clock, Random random, Func<TimeSpan> transit, Func<TimeSpan>? timerLate = null)
    {
        _transit = transit;
        _timerLate = timerLate ?? (() => TimeSpan.Zero);
        Start = clock.GetUtcNow();
        _settings = settings;
        _provider = provider;
        _clock = clock;
        _random = random;
        _rate = new RateController(settings);
        _concurrency = new ConcurrencyLimitDetector(settings.MaxInFlight);
        _gateLimit = _concurrency.Limit;
        _budget = new RetryBudget(settings.Retry.Budget, settings.Retry.BudgetWindow, settings.Retry.BudgetMinPerSecond);
        // As ModelSupervisor.StartModelActor builds the stream: rate and burst from rate control, tokens as configured.
        var state = _rate.Settings;
        _buckets = new ThrottleBuckets(state.Rate, state.Burst, settings.TokensPerMinute, Tick, clock.GetUtcNow(),
            settings.ConfiguredTokensBurst);
        ApplySettings(clock.GetUtcNow());
    }

    /// <summary>t = 0 of the run.</summary>
    public DateTimeOffset Start { get; }

    public List<RateChange> Changes { get; } = [];

    public List<RatePause> Pauses { get; } = [];

    /// <summary>Attempts sent in each tenth of a second of the first five seconds (the detail's opening story).</summary>
    public int[] SentByTenth { get; } = new int[50];

    /// <summary>Headerless 429s the detector took for a concurrency cap's.</summary>
    public int ConcurrencyRejections { get; private set; }

    /// <summary>The controller's rate and burst and the in-flight limit at the end of each whole second.</summary>
    public List<(double Rate, int Burst, int InFlightLimit)> AtSecond { get; } = [];

    /// <summary>Submits <paramref name="backlog"/> at t = 0 and runs until every request is answered or <paramref name="capSeconds"/>.</summary>
    public void Run(IReadOnlyList<VirtualRequest> backlog, double capSeconds)
    {
        foreach (var request in backlog)
        {
            _firsts.Enqueue(request);
        }

        var end = (long)Math.Round(capSeconds * 1000);
        for (var ms = 0L; ms <= end && _answered < backlog.Count; ms++)
        {
            var now = Start + TimeSpan.FromMilliseconds(ms);
            _clock.SetUtcNow(now);
            var kick = Step(now);
            Release(now, kick);
            AdmitAtGate(now);
            if (ms % 1000 == 999)
            {
                AtSecond.Add((_rate.Settings.Rate, _rate.Settings.Burst, _gateLimit));
            }
        }
    }

    /// <summary>Timers, the provider's answers and the engine's reactions due now; true when the throttle must look again.</summary>
    private bool Step(DateTimeOffset now)
    {
        var kick = false;
        while (_retryTimers.TryPeek(out var due, out var at) && at.Item1 <= now)
        {
            _retryTimers.Dequeue();
            if (due.RetryTimer == at.Item2)
            {
                // Not released early by an outage's end (ModelSupervisor.ReleaseOutageRetries).
                due.RetryTimer = -1;
                _retries.Enqueue(due);
                kick = true;
            }
        }

        while (_atProvider.TryPeek(out var flight, out var at) && at.Item1 <= now)
        {
            _atProvider.Dequeue();
            _onTheWire.Enqueue((flight, _provider.Answer(flight.Call)), (now + _transit(), _sequence++));
        }

        while (_onTheWire.TryPeek(out var arrived, out var at) && at.Item1 <= now)
        {
            _onTheWire.Dequeue();
            // The call leaves the gate and the stream's slot: the throttle is pulled again.
            _inFlight--;
            _stage--;
            AdmitAtGate(now);
            Completed(arrived.Flight, arrived.Response, now);
            kick = true;
        }

        return kick;
    }

    /// <summary>ModelSupervisor.Completed and RetryOrFail for one answer.</summary>
    private void Completed(Flight flight, BackendResponse response, DateTimeOffset now)
    {
        var entry = flight.Request;
        entry.Attempts++;
        if (entry.FirstAttemptAt is null)
        {
            entry.FirstAttemptAt = flight.StartedAt;
            _budget.RecordRequest(now);
        }

        var verdict = _concurrency.OnOutcome(response.Kind, flight.InFlightAtSend, response.RateLimits.HasRateHeaders || response.RateLimits.RetryAfter is not null, flight.StartedAt, now);
        if (verdict.Changed)
        {
            _gateLimit = GateLimit;
            AdmitAtGate(now);
        }

        if (response.Kind == OutcomeKind.RateLimited && verdict.ConcurrencyLimited)
        {
            ConcurrencyRejections++;
        }
        else
        {
            var cause = response.Kind == OutcomeKind.RateLimited ? RateLimitCause.Of(response.ErrorMessage, response.RateLimits, entry.Cost.Total) : RateLimitedBy.Unknown;
            Apply(_rate.Observe(new RateOutcome(response.Kind, flight.StartedAt, now, entry.Cost.Total, response.RateLimits, cause)), now);
        }

        switch (response.Kind)
        {
            case OutcomeKind.Success:
                if (_settings.TokenAccounting == EngineAccounting.Reconcile && response.Usage is { } usage && _settings.TokensPerMinute > 0)
                {
                    _buckets.Refund(now, entry.Cost.Total - usage.TotalTokens);
                }

                Finish(entry, "Success", now);
                break;
            case OutcomeKind.RateLimited:
                RetryOrFail(entry, response, "RateLimitedExhausted", now);
                break;
            case OutcomeKind.Transient:
                RetryOrFail(entry, response, "Transient", now);
                break;
            default:
                Finish(entry, response.Kind.ToString(), now);
                break;
        }
    }

    private void RetryOrFail(VirtualRequest entry, BackendResponse response, string exhausted, DateTimeOffset now)
    {
        var retryFloor = RateLimitPause.RetryFloor(response.RateLimits);
        var step = RetryPlan.Next(response.Kind, entry.Attempts, _settings.Retry, retryFloor, _rate.InOutage, _random.NextDouble());
        if (!step.Retry || (step.ChargesBudget && !_budget.TryAcquireRetry(now)))
        {
            Finish(entry, exhausted, now);
            return;
        }

        var delay = step.Delay;
        // ModelSupervisor.RetryOrFail: a 429's retry at the tail of the backlog (RetryPlan.TailRetryDelay).
        if (response.Kind == OutcomeKind.RateLimited)
        {
            var waiting = _firsts.Count + _retries.Count + _gateWaiting.Count + (_pending is null ? 0 : 1);
            delay = RetryPlan.TailRetryDelay(delay, _rate.QuotaWindowEnd(response.RateLimits), retryFloor, _rate.Settings.Rate, entry.Attempts, waiting, now);
        }

        entry.LastServerError = response.Kind == OutcomeKind.Transient;
        entry.RetryTimer = _sequence++;
        _retryTimers.Enqueue(entry, (OnTick(now + delay, now), entry.RetryTimer));
    }

    private void Finish(VirtualRequest entry, string outcome, DateTimeOffset now)
    {
        entry.Outcome = outcome;
        entry.End = (now - Start).TotalSeconds;
        _answered++;
    }

    /// <summary>ModelSupervisor.Apply: pauses in order, then the settings rate control holds.</summary>
    /// <summary>ModelSupervisor.GateLimit: one probe at a time while the provider is down.</summary>
    private int GateLimit => _rate.InOutage ? 1 : _concurrency.Limit;

    private void Apply(RateDecision decision, DateTimeOffset now)
    {
        if (decision.OutageBegan || decision.OutageEnded)
        {
            _gateLimit = GateLimit;
            AdmitAtGate(now);
        }

        if (decision.OutageEnded)
        {
            // ModelSupervisor.ReleaseOutageRetries: the timers of those released are void.
            foreach (var waiting in _retryTimers.UnorderedItems.Select(t => t.Element).Where(e => e.RetryTimer >= 0 && e.LastServerError).Distinct().ToList())
            {
                waiting.RetryTimer = -1;
                _retries.Enqueue(waiting);
            }
        }

        foreach (var pause in decision.Pauses)
        {
            Pauses.Add(pause);
            if (pause.Empty)
            {
                _buckets.Empty(now);
                _concurrency.Paused(pause.Until);
            }

            _buckets.PauseUntil(pause.Until);
        }

        Changes.AddRange(decision.Changes);
        if (decision.Changes.Count > 0)
        {
            ApplySettings(now);
        }
    }

    /// <summary>ModelSupervisor.ApplySettings.</summary>
    private void ApplySettings(DateTimeOffset now)
    {
        var state = _rate.Settings;
        if (_buckets.Burst != state.Burst)
        {
            _buckets.SetBurst(now, state.Burst);
        }

        if (Math.Abs(_buckets.Rate - state.Rate) > 1e-9)
        {
            _buckets.SetRate(now, state.Rate);
        }

        if (state.TokensPerMinute > 0 && state.TokensPerMinute != _buckets.TokensPerMinute)
        {
            _buckets.SetTokensPerMinute(now, state.TokensPerMinute);
        }
    }

    /// <summary>
    /// The throttle stage's TryRelease: it holds one element (retries first), and tries on a push, a pull, a control change
    /// (<paramref name="kick"/>) or its timer; when the buckets say "not yet" it arms the timer for then.
    /// </summary>
    private void Release(DateTimeOffset now, bool kick)
    {
        if (_pending is null && TakeNext())
        {
            kick = true;
        }

        if (_timerDue is { } due && now >= due)
        {
            _buckets.ObserveTimerLateness(now - _timerAsked);
            _timerDue = null;
            kick = true;
        }

        if (!kick)
        {
            return;
        }

        _timerDue = null;
        while (_pending is not null || TakeNext())
        {
            if (_stage >= _settings.MaxInFlight)
            {
                // Downstream is not pulling; the next answer pulls.
                return;
            }

            if (_buckets.TryTake(now, _pending!.Cost.Total) is { } readyAt)
            {
                var delay = readyAt - now < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : readyAt - now;
                _timerAsked = now + delay;
                _timerDue = OnTick(now + delay, now);
                return;
            }

            _gateWaiting.Enqueue(_pending);
            _pending = null;
            _stage++;
        }
    }

    private bool TakeNext()
    {
        if (_retries.TryDequeue(out var next) || _firsts.TryDequeue(out next))
        {
            _pending = next;
            return true;
        }

        return false;
    }

    /// <summary>The in-flight gate lets waiting calls in, in order; each is sent to the provider now.</summary>
    private void AdmitAtGate(DateTimeOffset now)
    {
        while (_gateWaiting.Count > 0 && _inFlight < _gateLimit)
        {
            var request = _gateWaiting.Dequeue();
            _inFlight++;
            var call = _provider.Send(request.SimulatorPromptTokens, request.MaxTokens);
            var flight = new Flight(request, call, now, _inFlight);
            var tenth = (int)((now - Start).TotalMilliseconds / 100);
            if (tenth < SentByTenth.Length)
            {
                SentByTenth[tenth]++;
            }
            if (call.AnswerAt <= now)
            {
                // Answered at once (a rejection, an outage, a success without latency): the simulator writes its headers
                // before it decides the next request, so they show this decision's state, not the state after a whole burst.
                _onTheWire.Enqueue((flight, _provider.Answer(call)), (now + _transit(), _sequence++));
                continue;
            }

            _atProvider.Enqueue(flight, (call.AnswerAt, _sequence++));
        }
    }

    /// <summary>When a timer asked for <paramref name="at"/> fires: the first 10 ms tick at or after it (and after now).</summary>
    private DateTimeOffset OnTick(DateTimeOffset at, DateTimeOffset now)
    {
        if (at <= now)
        {
            at = now + TimeSpan.FromMilliseconds(1);
        }

        var ticks = (at - Start).Ticks;
        var grid = Tick.Ticks;
        return Start + TimeSpan.FromTicks((ticks + grid - 1) / grid * grid) + _timerLate();
    }

    private sealed record Flight(VirtualRequest Request, VirtualCall Call, DateTimeOffset StartedAt, int InFlightAtSend);
}

/// <summary>One backlog request of the virtual matrix: its cost as the engine and the simulator count it, and its fate.</summary>
internal sealed class VirtualRequest(int index, RequestCost cost, int simulatorPromptTokens, int maxTokens)
{
    public int Index { get; } = index;

    /// <summary>What the engine charges (prompt + max tokens), from <see cref="RequestCost.Of"/>.</summary>
    public RequestCost Cost { get; } = cost;

    /// <summary>Prompt tokens as the simulator counts them.</summary>
    public int SimulatorPromptTokens { get; } = simulatorPromptTokens;

    public int MaxTokens { get; } = maxTokens;

    public int Attempts { get; set; }

    /// <summary>The sequence number of the retry timer in force; -1 without one (a stale timer is ignored).</summary>
    public long RetryTimer { get; set; } = -1;

    /// <summary>The last attempt failed with a server error: its retry goes at once when an outage ends.</summary>
    public bool LastServerError { get; set; }

    public DateTimeOffset? FirstAttemptAt { get; set; }

    /// <summary>Seconds from t = 0 to the answer; -1 while unanswered.</summary>
    public double End { get; set; } = -1;

    /// <summary>Success, a failure reason, or Unfinished.</summary>
    public string Outcome { get; set; } = "Unfinished";
}
