using ActorThrottle.Adaptation;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Retry;
using ActorThrottle.Routing;
using ActorThrottle.Throttling;
using ActorThrottle.Tokens;
using Akka.Actor;

namespace ActorThrottle.Models;

/// <summary>
/// One per model: the parent and Akka supervisor of the model's <see cref="ModelActor"/>, and the only place
/// that answers callers. It keeps the ledger of every accepted request until that request is answered, so a
/// restarted ModelActor loses nothing; receives every outcome as a message; schedules jittered retries within
/// attempts, budget and deadline; and runs AIMD on the throttle.
/// </summary>
internal sealed class ModelSupervisor : ReceiveActor, IWithTimers
{
    private const string DeadlineTimer = "deadline";
    private const string GraceTimer = "shutdown-grace";

    private readonly ModelSettings _settings;
    private readonly TimeSpan _shutdownGrace;
    private readonly IChatBackend _backend;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Serilog.ILogger _log;
    private readonly ActorThrottleMetrics _metrics;
    private readonly ActorThrottleMetrics.ModelGauges _gauges;
    private readonly AimdController _aimd;
    private readonly TokenRateController? _tokenAimd;
    private readonly OverloadDetector _overload;
    // Attempts sent up to this instant are echoes of the overload the model last paused for; see RateLimited.
    private DateTimeOffset _overloadPausedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _overloadPausedUntil = DateTimeOffset.MinValue;
    private int _overloadPauses;
    private readonly RetryBudget _budget;
    private readonly Dictionary<string, Entry> _ledger = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, DateTimeOffset> _deadlines = new();
    private IActorRef _modelActor = ActorRefs.Nobody;
    private IThrottleControl? _throttle;
    private InFlightGate? _gate;
    private readonly ConcurrencyLimitDetector _concurrency;
    private int _starts;
    private long _answered;
    private IActorRef? _shutdownRequester;
    private DateTimeOffset? _nextDeadlineTimer;
    private readonly Action<object, IActorRef>? _redeliver;
    private bool _handingOff;

    /// <param name="start">The AIMD state to start from (cluster mode: a conservative burst after a move); null: the configured values.</param>
    /// <param name="redeliver">
    /// Where unanswered requests go on <see cref="HandOffModel"/> (cluster mode: back to the shard region, which
    /// delivers them to the model's next incarnation) with their original reply-to, as the message to re-send (a
    /// <see cref="ChatRequest"/>, or a <see cref="ClusterRequest"/> marked re-sent); null: they are answered ShuttingDown.
    /// </param>
    public ModelSupervisor(ModelSettings settings, ThrottleEnvironment environment, IChatBackend backend, ActorThrottleMetrics metrics, TimeSpan shutdownGrace,
        AimdState? start = null, Action<object, IActorRef>? redeliver = null)
    {
        _settings = settings;
        _shutdownGrace = shutdownGrace;
        _backend = backend;
        _time = environment.Time;
        _random = environment.RandomFor(settings.ModelId);
        _log = (environment.Logger ?? Serilog.Log.Logger).ForContext<ModelSupervisor>().ForContext("Model", settings.ModelId);
        _metrics = metrics;
        _gauges = metrics.ForModel(settings.ModelId);
        _aimd = start is { } s ? new AimdController(AimdLimits.From(settings), s) : new AimdController(AimdLimits.From(settings));
        _tokenAimd = TokenRateLimits.From(settings) is { } tokenLimits ? new TokenRateController(tokenLimits) : null;
        _overload = new OverloadDetector(settings.Adapt.CoolDown);
        _concurrency = new ConcurrencyLimitDetector(settings.MaxInFlight);
        _redeliver = redeliver;
        _budget = new RetryBudget(settings.Retry.Budget, settings.Retry.BudgetWindow, settings.Retry.BudgetMinPerSecond);
        PublishGauges();

        Receive<ChatRequest>(r => { Admit(r, Sender, [], settings.Fallbacks, 0); });
        Receive<ChatStreamRequest>(r => { Admit(r.Request, Sender, [], settings.Fallbacks, 0, stream: true, original: r); });
        Receive<FallbackRequest>(f => { Admit(f.Request, f.ReplyTo, f.Tried, f.Remaining, f.PriorAttempts, stream: f.Stream, original: f); });
        Receive<ClusterRequest>(AdmitFromRelay);
        Receive<CancelRequest>(Cancel);
        Receive<AttemptCompleted>(Completed);
        Receive<RetryDue>(RetryNow);
        Receive<DeadlineDue>(_ => ExpireDeadlines());
        Receive<ModelActorStarted>(Started);
        Receive<GetModelStatus>(_ => Sender.Tell(Status()));
        Receive<ShutdownModel>(_ => BeginShutdown());
        Receive<HandOffModel>(_ => BeginHandOff());
        Receive<QueueDrained>(Drained);
        Receive<ShutdownGraceOver>(_ => FinishShutdown("The actor system is shutting down; the call did not finish within shutdown-grace."));
        Receive<Terminated>(t => t.ActorRef.Equals(_modelActor), _ => StartModelActor());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ModelSettings settings, ThrottleEnvironment environment, IChatBackend backend, ActorThrottleMetrics metrics, TimeSpan shutdownGrace,
        AimdState? start = null, Action<object, IActorRef>? redeliver = null) =>
        Akka.Actor.Props.Create(() => new ModelSupervisor(settings, environment, backend, metrics, shutdownGrace, start, redeliver));

    // Any failure of the ModelActor restarts it; the ledger re-submits what it held.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, -1, _ => Directive.Restart, loggingEnabled: true);

    protected override void PreStart() => StartModelActor();

    protected override void PostStop()
    {
        // Last line of the exactly-once guarantee: nothing accepted leaves without an answer.
        foreach (var entry in _ledger.Values.ToList())
        {
            Answer(entry, Failure(entry, FailureReason.ShuttingDown, "The model's supervisor stopped before the request was answered."));
        }
    }

    private void StartModelActor()
    {
        // The stream starts from what AIMD holds now (the configured values, a conservative start, or what it has
        // learned before a restart), so no burst larger than that can leave before the first ApplyAimd.
        var state = _aimd.State;
        _modelActor = Context.ActorOf(ModelActor.Props(_settings with { MaxBurst = state.Burst, RequestsPerSecond = state.Rate }, _backend, _time), "model");
        Context.Watch(_modelActor);
    }

    private void Started(ModelActorStarted started)
    {
        _throttle = started.Throttle;
        _gate = started.Gate;
        _gate?.SetLimit(_concurrency.Limit);
        _starts++;
        // A fresh stream starts from the configured rate; bring it to what AIMD has learned.
        ApplyAimd();
        if (_starts == 1)
        {
            return;
        }
        var resubmitted = 0;
        foreach (var entry in _ledger.Values.ToList())
        {
            if (entry.WaitingForRetry || entry.Current is not { } item)
            {
                continue;
            }
            item.Abandon();
            if (item.ChunksSent > 0)
            {
                // Sending it again would repeat the text the caller already has.
                Answer(entry, Failure(entry, FailureReason.StreamInterrupted,
                    $"The model's pipeline restarted after {item.ChunksSent} chunks of the stream were delivered; a streamed request is not retried once text has flowed."));
                continue;
            }
            Submit(entry, item.IsRetry);
            resubmitted++;
        }
        _log.Warning("ModelActor of {Model} restarted; re-submitted {Count} unanswered requests", _settings.ModelId, resubmitted);
    }

    private void AdmitFromRelay(ClusterRequest message)
    {
        var request = message.Request;
        if (request is null)
        {
            return;
        }
        if (message.Resent && request.RequestId is { } id && _ledger.ContainsKey(id))
        {
            // Already held here (a re-send after a node left or a hand-off): acknowledge again, admit once.
            Sender.Tell(new RequestAccepted(id));
            return;
        }
        if (_handingOff && _redeliver is { } redeliver)
        {
            redeliver(message with { Resent = true }, Sender);
            return;
        }
        if (Admit(request, Sender, [], _settings.Fallbacks, 0, tracked: true, stream: message.Stream) && _ledger.ContainsKey(request.RequestId))
        {
            Sender.Tell(new RequestAccepted(request.RequestId));
        }
    }

    /// <summary>Admits or answers <paramref name="request"/>; true when it entered the ledger.</summary>
    /// <param name="caller">Who gets the answer.</param>
    /// <param name="tried">Models the request already failed on (fallbacks).</param>
    /// <param name="fallbacks">The fallbacks still to try.</param>
    /// <param name="priorAttempts">Calls made for it on the models tried.</param>
    /// <param name="stream">A streamed request: its chunks go to <paramref name="caller"/> before the reply.</param>
    /// <param name="original">The message as received, re-delivered as is when a hand-off is under way.</param>
    private bool Admit(ChatRequest request, IActorRef caller, IReadOnlyList<string> tried, IReadOnlyList<string> fallbacks,
        int priorAttempts, bool tracked = false, bool stream = false, object? original = null)
    {
        if (_handingOff && _redeliver is { } redeliver)
        {
            // Arrived after the hand-off began: the next incarnation takes it.
            redeliver(original ?? request, caller);
            return false;
        }
        if (_shutdownRequester is not null)
        {
            Reject(caller, request, FailureReason.ShuttingDown, "The actor system is shutting down.");
            return false;
        }
        if (_ledger.ContainsKey(request.RequestId))
        {
            Reject(caller, request, FailureReason.InvalidRequest, $"RequestId '{request.RequestId}' is already pending for model '{_settings.ModelId}'; request ids must be unique.");
            return false;
        }
        var now = _time.GetUtcNow();
        if (request.Deadline is { } deadline && deadline <= now)
        {
            Reject(caller, request, FailureReason.DeadlineExceeded, $"Deadline {deadline:O} had already passed when the request arrived.");
            return false;
        }
        if (_ledger.Count >= _settings.QueueSize)
        {
            Reject(caller, request, FailureReason.QueueFull, $"Model '{_settings.ModelId}' already holds {_settings.QueueSize} requests (queue-size).");
            return false;
        }
        var cost = RequestCost.Of(request, _settings);
        if (cost.TooLargeReason(_settings) is { } tooLarge)
        {
            Reject(caller, request, FailureReason.TooLarge, tooLarge);
            return false;
        }
        var entry = new Entry(request, caller, cost) { Tried = tried, Fallbacks = fallbacks, PriorAttempts = priorAttempts, Tracked = tracked, Stream = stream };
        _ledger.Add(request.RequestId, entry);
        if (request.Deadline is { } d)
        {
            if (_deadlines.Count > 2 * _ledger.Count + 64)
            {
                PruneDeadlines();
            }
            _deadlines.Enqueue(request.RequestId, d);
            ArmDeadlineTimer();
        }
        Submit(entry, isRetry: false);
        PublishGauges();
        return true;
    }

    private void Submit(Entry entry, bool isRetry)
    {
        var item = new WorkItem(entry.Request, entry.Cost.Total, entry.Attempts + 1, isRetry, entry.Stream ? entry.ReplyTo : null);
        entry.Current = item;
        entry.WaitingForRetry = false;
        _modelActor.Tell(new SubmitAttempt(item));
    }

    private void Cancel(CancelRequest cancel)
    {
        if (!_ledger.ContainsKey(cancel.RequestId) && _forwarded.TryGetValue(cancel.RequestId, out var fallback))
        {
            Context.Parent.Tell(cancel with { Model = fallback });
            return;
        }
        if (_ledger.TryGetValue(cancel.RequestId, out var entry))
        {
            if (entry.Current is { } item)
            {
                _modelActor.Tell(new WithdrawAttempt(item));
            }
            Answer(entry, Failure(entry, FailureReason.Cancelled, "Cancelled by the caller."));
        }
    }

    private void Completed(AttemptCompleted outcome)
    {
        var item = outcome.Item;
        if (outcome.Response is not { } response || !_ledger.TryGetValue(item.Request.RequestId, out var entry))
        {
            return;
        }
        var isCurrent = ReferenceEquals(entry.Current, item);
        // A late success from an attempt that was superseded (restart) is still a valid answer; a late failure is not news.
        if (!isCurrent && response.Kind != OutcomeKind.Success)
        {
            return;
        }
        if (!isCurrent && entry.Current is { } queued)
        {
            // A superseded attempt answered first: its successor must leave the queue, or it would hold a slot.
            _modelActor.Tell(new WithdrawAttempt(queued));
        }
        var now = _time.GetUtcNow();
        entry.Attempts++;
        if (entry.FirstAttemptAt is null)
        {
            // The budget counts requests as they are sent, not as they are queued: a backlog admitted at once
            // would otherwise inflate the budget for one window and starve retries in every window after it.
            entry.FirstAttemptAt = outcome.StartedAt;
            _budget.RecordRequest(now);
        }
        entry.LastResponse = response;
        _metrics.RecordAttempt(_settings.ModelId, response.StatusCode, outcome.Elapsed);
        LogAttempt(entry, item, response, outcome.Elapsed);
        var concurrency = _concurrency.OnOutcome(response.Kind, outcome.InFlightAtSend, response.RateLimits.HasRateHeaders || response.RateLimits.RetryAfter is not null, outcome.StartedAt, now);
        if (concurrency.Changed)
        {
            _gate?.SetLimit(concurrency.Limit);
            _log.Information("Model {Model} in-flight limit now {Limit} ({Reason})", _settings.ModelId, concurrency.Limit,
                concurrency.ConcurrencyLimited ? $"429 with {outcome.InFlightAtSend} in flight and no rate header or retry-after: a concurrency cap" : "probing after successes");
        }

        if (RateLimitPause.Until(response.RateLimits, now, _settings.Retry.MaxRetryAfter, entry.Cost.Total) is { } pauseUntil)
        {
            _throttle?.PauseUntil(pauseUntil);
        }

        if (response.Kind != OutcomeKind.Success && item.ChunksSent > 0)
        {
            if (response.Kind == OutcomeKind.RateLimited)
            {
                // A rate-limit error inside a stream is still a rate signal.
                _metrics.RecordRateLimited(_settings.ModelId);
                if (_aimd.OnRateLimited(now))
                {
                    ApplyAimd();
                }
            }
            // Text already reached the caller: a retry (or a fallback) would deliver it twice.
            Answer(entry, Failure(entry, FailureReason.StreamInterrupted,
                $"The stream failed after {item.ChunksSent} chunks were delivered: {DescribeProviderError(response)}", response));
            return;
        }

        switch (response.Kind)
        {
            case OutcomeKind.Success:
                if (_settings.TokenAccounting == TokenAccounting.Reconcile && response.Usage is { } usage && _settings.TokensPerMinute > 0)
                {
                    _throttle?.Refund(entry.Cost.Total - usage.TotalTokens);
                }
                Accepted(entry, outcome.StartedAt, now);
                _metrics.RecordSuccess(_settings.ModelId);
                var success = new ChatSuccess(
                    entry.Request.RequestId,
                    response.ModelUsed ?? _settings.ModelId,
                    response.Content,
                    response.FinishReason,
                    response.Usage,
                    entry.PriorAttempts + entry.Attempts,
                    now - entry.FirstAttemptAt.Value,
                    response.RawJson ?? "")
                {
                    ToolCalls = response.ToolCalls is { Count: > 0 } calls ? calls : null,
                };
                Answer(entry, success);
                break;
            case OutcomeKind.RateLimited:
                _metrics.RecordRateLimited(_settings.ModelId);
                if (!concurrency.ConcurrencyLimited)
                {
                    RateLimited(entry, outcome.StartedAt, response, now);
                }
                if (_settings.Adapt.PauseOnRetryAfter == RetryAfterScope.Model && response.RateLimits.RetryAfter is { } wait && wait > TimeSpan.Zero)
                {
                    _throttle?.PauseUntil(now + Min(wait, _settings.Retry.MaxRetryAfter));
                }
                RetryOrFail(entry, response, FailureReason.RateLimitedExhausted, now);
                break;
            case OutcomeKind.Transient:
                RetryOrFail(entry, response, FailureReason.Transient, now);
                break;
            default:
                FailOrFallBack(entry, Failure(entry, FailureReason.Permanent, DescribeProviderError(response), response));
                break;
        }
    }

    /// <summary>A success: AIMD on the request and token rates grows; the overload count sees an accepted attempt.</summary>
    private void Accepted(Entry entry, DateTimeOffset sentAt, DateTimeOffset now)
    {
        var changed = _aimd.OnSuccess(now, sentAt);
        changed |= _tokenAimd?.OnSuccess(now, sentAt, entry.Cost.Total) ?? false;
        if (sentAt > _overloadPausedAt)
        {
            _overload.Record(now, rejected: false, sentAt);
        }
        if (sentAt >= _overloadPausedUntil)
        {
            _overloadPauses = 0;
        }
        if (changed)
        {
            ApplyAimd();
        }
    }

    /// <summary>
    /// A 429 rate-limit answer: lowers the rate of the limit it was about (<see cref="RateLimitCause"/>; the request rate
    /// when nothing tells, or when the model has no token budget to lower). When most attempts of a cool-down were
    /// rejected (<see cref="OverloadDetector"/>) the whole model pauses for the provider's retry-after (or a backoff)
    /// and resumes at a rate cut in one step from the rate those 429s were sent at (<see cref="AimdController.OnOverload(DateTimeOffset, DateTimeOffset)"/>),
    /// with an emptied throttle: a provider that charges rejected
    /// requests against the limit only goes deeper into debt while we send. The 429s of attempts sent before that pause
    /// (up to its instant) are echoes of the same overload: they change no rate, and only lengthen the pause when their
    /// retry-after ends later.
    /// </summary>
    private void RateLimited(Entry entry, DateTimeOffset sentAt, BackendResponse response, DateTimeOffset now)
    {
        if (sentAt <= _overloadPausedAt)
        {
            // The provider reckoned its retry-after when the attempt arrived, so an echo's is fresher than the one the pause
            // started from (a provider that charges rejections was charged for every echo since).
            ExtendOverloadPause(response.RateLimits.RetryAfter, now);
            return;
        }
        var by = RateLimitCause.Of(response.ErrorMessage, response.RateLimits, entry.Cost.Total);
        var onTokens = _tokenAimd is not null && by is RateLimitedBy.Tokens or RateLimitedBy.Both;
        var onRequests = !onTokens || by == RateLimitedBy.Both;
        bool changed;
        _overload.Record(now, rejected: true, sentAt);
        if (_overload.IsOverloaded(now))
        {
            var share = (double)_overload.Rejected / _overload.Counted;
            var since = _overload.EarliestRejectedSentAt ?? sentAt;
            var wait = OverloadPause.Length(response.RateLimits.RetryAfter, ++_overloadPauses, _settings.Retry);
            _overload.Reset();
            _overloadPausedAt = now;
            _overloadPausedUntil = now + wait;
            changed = onRequests && _aimd.OnOverload(now, since);
            changed |= onTokens && _tokenAimd!.OnOverload(now, since);
            // Emptied too: the provider's own bucket was just emptied, a burst on resuming would meet an empty one.
            _throttle?.PauseEmptyUntil(_overloadPausedUntil);
            _log.Information("Model {Model} overloaded ({Share:P0} of recent attempts rejected, {Limit} limit): paused for {PauseMs:0} ms, resuming at {Rate:0.###}/s{Tokens}",
                _settings.ModelId, share, by, wait.TotalMilliseconds, _aimd.State.Rate,
                _tokenAimd is { } t ? $", {t.TokensPerMinute:0} tokens/min" : "");
        }
        else
        {
            changed = onRequests && _aimd.OnRateLimited(now);
            changed |= onTokens && _tokenAimd!.OnRateLimited(now);
        }
        if (changed)
        {
            ApplyAimd();
        }
    }

    private void ExtendOverloadPause(TimeSpan? retryAfter, DateTimeOffset now)
    {
        if (retryAfter is not { } wait || wait <= TimeSpan.Zero)
        {
            return;
        }
        var until = now + Min(wait, _settings.Retry.MaxRetryAfter);
        if (until > _overloadPausedUntil)
        {
            _overloadPausedUntil = until;
            _throttle?.PauseUntil(until);
        }
    }

    private void RetryOrFail(Entry entry, BackendResponse response, FailureReason exhausted, DateTimeOffset now)
    {
        if (entry.Attempts >= _settings.Retry.MaxAttempts)
        {
            FailOrFallBack(entry, Failure(entry, exhausted, $"Gave up after {entry.Attempts} attempts (retry.max-attempts): {DescribeProviderError(response)}", response));
            return;
        }
        var delay = RetryDelay.Compute(entry.Attempts, _settings.Retry, response.RateLimits.RetryAfter, _random.NextDouble());
        if (entry.Request.Deadline is { } deadline && now + delay >= deadline)
        {
            Answer(entry, Failure(entry, FailureReason.DeadlineExceeded, $"The next retry (in {delay.TotalMilliseconds:0} ms) would come after the deadline; last error: {DescribeProviderError(response)}", response));
            return;
        }
        // 429 retries are not charged: they re-enter the throttle, whose rate AIMD is lowering, so they cannot add
        // load; failing them would only turn a backlog into errors while the limit is being learned.
        if (response.Kind != OutcomeKind.RateLimited && !_budget.TryAcquireRetry(now))
        {
            FailOrFallBack(entry, Failure(entry, exhausted, $"Retry budget spent (retry.budget); last error: {DescribeProviderError(response)}", response));
            return;
        }
        if (_handingOff)
        {
            Release(entry, "The model moved to another node while the request was waiting to retry.");
            return;
        }
        entry.WaitingForRetry = true;
        entry.Current = null;
        _metrics.RecordRetry(_settings.ModelId);
        Timers.StartSingleTimer(RetryKey(entry.Request.RequestId), new RetryDue(entry.Request.RequestId), delay);
    }

    private void RetryNow(RetryDue due)
    {
        if (_ledger.TryGetValue(due.RequestId, out var entry) && entry.WaitingForRetry)
        {
            Submit(entry, isRetry: true);
        }
    }

    private void ExpireDeadlines()
    {
        _nextDeadlineTimer = null;
        var now = _time.GetUtcNow();
        while (_deadlines.TryPeek(out var id, out var deadline) && deadline <= now)
        {
            _deadlines.Dequeue();
            if (_ledger.TryGetValue(id, out var entry) && entry.Request.Deadline == deadline)
            {
                if (entry.Current is { } item)
                {
                    _modelActor.Tell(new WithdrawAttempt(item));
                }
                var last = entry.LastResponse is { } r ? $"; last error: {DescribeProviderError(r)}" : "";
                Answer(entry, Failure(entry, FailureReason.DeadlineExceeded, $"The deadline {deadline:O} passed before an answer{last}", entry.LastResponse));
            }
        }
        ArmDeadlineTimer();
    }

    // Answered requests leave their deadline behind; drop those so the heap stays the size of the ledger.
    private void PruneDeadlines()
    {
        var live = _ledger.Values.Where(e => e.Request.Deadline is not null).Select(e => (e.Request.RequestId, e.Request.Deadline!.Value)).ToList();
        _deadlines.Clear();
        _deadlines.EnqueueRange(live);
    }

    private void ArmDeadlineTimer()
    {
        if (!_deadlines.TryPeek(out _, out var next) || (_nextDeadlineTimer is { } armed && armed <= next))
        {
            return;
        }
        _nextDeadlineTimer = next;
        var delay = next - _time.GetUtcNow();
        Timers.StartSingleTimer(DeadlineTimer, DeadlineDue.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    /// <summary>
    /// Cluster hand-off (rebalance, a node leaving, passivation): stop taking work, re-deliver what has not been sent
    /// (queued or waiting to retry) to the next incarnation, let calls in flight finish within shutdown-grace
    /// (a retryable outcome is re-delivered too), then stop. Without a re-delivery target it is a shutdown.
    /// </summary>
    private void BeginHandOff()
    {
        if (_handingOff)
        {
            return;
        }
        _handingOff = true;
        _log.Information("Handing off {Model}: {Count} unanswered requests", _settings.ModelId, _ledger.Count);
        if (_redeliver is not null)
        {
            // Everything whose call has not started (queued, or already past the throttle in the stream's buffers)
            // goes to the next incarnation now; only calls already running stay, within shutdown-grace.
            foreach (var entry in _ledger.Values.ToList())
            {
                if (entry.Current is { } item && item.TryWithdraw())
                {
                    Release(entry, "The model moved to another node before the request was sent.");
                }
            }
        }
        BeginShutdown();
    }

    /// <summary>Hands an unanswered request on (hand-off with a re-delivery target) or answers it ShuttingDown.</summary>
    private void Release(Entry entry, string why)
    {
        if (_handingOff && _redeliver is { } redeliver)
        {
            if (!_ledger.Remove(entry.Request.RequestId))
            {
                return;
            }
            entry.Current?.Abandon();
            Timers.Cancel(RetryKey(entry.Request.RequestId));
            redeliver(entry.Tracked ? new ClusterRequest(entry.Request, Resent: true, entry.Stream)
                : entry.Stream ? new ChatStreamRequest(entry.Request) : entry.Request, entry.ReplyTo);
            PublishGauges();
            CompleteShutdownIfDone();
            return;
        }
        Answer(entry, Failure(entry, FailureReason.ShuttingDown, why));
    }

    private void BeginShutdown()
    {
        _shutdownRequester = Sender;
        foreach (var entry in _ledger.Values.Where(e => e.WaitingForRetry).ToList())
        {
            Release(entry, "The actor system is shutting down; the request was waiting to retry.");
        }
        _modelActor.Tell(DrainQueue.Instance);
        Timers.StartSingleTimer(GraceTimer, ShutdownGraceOver.Instance, _shutdownGrace);
        CompleteShutdownIfDone();
    }

    private void Drained(QueueDrained drained)
    {
        foreach (var item in drained.Items)
        {
            if (_ledger.TryGetValue(item.Request.RequestId, out var entry) && ReferenceEquals(entry.Current, item))
            {
                Release(entry, "The actor system is shutting down; the request had not been sent.");
            }
        }
        CompleteShutdownIfDone();
    }

    private void FinishShutdown(string why)
    {
        foreach (var entry in _ledger.Values.ToList())
        {
            Answer(entry, Failure(entry, FailureReason.ShuttingDown, why));
        }
        CompleteShutdownIfDone();
    }

    private void CompleteShutdownIfDone()
    {
        if (_shutdownRequester is { } requester && _ledger.Count == 0)
        {
            Timers.Cancel(GraceTimer);
            if (_handingOff)
            {
                // The shard waits for the entity to stop before the model starts elsewhere.
                Context.Stop(Self);
                return;
            }
            requester.Tell(new ModelShutdownComplete(_settings.ModelId));
        }
    }

    private void Answer(Entry entry, ChatReply reply)
    {
        if (!_ledger.Remove(entry.Request.RequestId))
        {
            return;
        }
        entry.Current?.Abandon();
        Timers.Cancel(RetryKey(entry.Request.RequestId));
        if (reply is ChatFailure failure)
        {
            _metrics.RecordFailure(_settings.ModelId, failure.Reason);
        }
        _answered++;
        entry.ReplyTo.Tell(reply);
        PublishGauges();
        if (_shutdownRequester is not null)
        {
            CompleteShutdownIfDone();
        }
    }

    private void Reject(IActorRef caller, ChatRequest request, FailureReason reason, string message)
    {
        _metrics.RecordFailure(_settings.ModelId, reason);
        caller.Tell(new ChatFailure(request.RequestId, reason, message, 0));
    }

    /// <summary>
    /// Retries on this model are exhausted (or the provider's quota is): hand the request to the next fallback that has
    /// not been tried, if any — its supervisor then owns the one reply — otherwise answer the failure.
    /// </summary>
    private void FailOrFallBack(Entry entry, ChatFailure failure)
    {
        var eligible = failure.Reason is FailureReason.RateLimitedExhausted or FailureReason.Transient
            || (failure.Reason == FailureReason.Permanent && failure.ProviderCode == OutcomeClassifier.InsufficientQuota);
        var chain = entry.Fallbacks.SkipWhile(f => f == _settings.ModelId || entry.Tried.Contains(f)).ToList();
        var next = eligible && chain.Count > 0 ? chain[0] : null;
        if (next is null || _shutdownRequester is not null)
        {
            Answer(entry, failure);
            return;
        }
        if (!_ledger.Remove(entry.Request.RequestId))
        {
            return;
        }
        entry.Current?.Abandon();
        Timers.Cancel(RetryKey(entry.Request.RequestId));
        RememberForwarded(entry.Request.RequestId, next);
        _log.Information("Request {RequestId} falls back from {Model} to {Fallback} after {Attempts} attempts: {Reason}",
            entry.Request.RequestId, _settings.ModelId, next, entry.Attempts, failure.Reason);
        Context.Parent.Tell(new FallbackRequest(
            entry.Request with { Model = next },
            entry.ReplyTo,
            [.. entry.Tried, _settings.ModelId],
            chain.Skip(1).ToList(),
            entry.PriorAttempts + entry.Attempts,
            entry.Stream));
        PublishGauges();
        if (_shutdownRequester is not null)
        {
            CompleteShutdownIfDone();
        }
    }

    // Recent hand-offs, so a caller's CancelRequest naming this model still reaches the request (bounded).
    private const int ForwardedMemory = 10_000;
    private readonly Dictionary<string, string> _forwarded = new(StringComparer.Ordinal);
    private readonly Queue<string> _forwardedOrder = new();

    private void RememberForwarded(string requestId, string model)
    {
        if (_forwarded.TryAdd(requestId, model))
        {
            _forwardedOrder.Enqueue(requestId);
            if (_forwardedOrder.Count > ForwardedMemory)
            {
                _forwarded.Remove(_forwardedOrder.Dequeue());
            }
        }
    }

    private static ChatFailure Failure(Entry entry, FailureReason reason, string message, BackendResponse? response = null)
    {
        response ??= entry.LastResponse;
        var fellBack = entry.Tried.Count > 0 ? $" (after falling back from {string.Join(", ", entry.Tried)})" : "";
        return new ChatFailure(entry.Request.RequestId, reason, message + fellBack, entry.PriorAttempts + entry.Attempts, response?.StatusCode, response?.ErrorCode);
    }

    private void ApplyAimd()
    {
        var state = _aimd.State;
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
            if (_tokenAimd is { } tokens && TokenRate(tokens) != current.TokensPerMinute)
            {
                throttle.SetTokensPerMinute(TokenRate(tokens));
            }
        }
        PublishGauges();
    }

    private static long TokenRate(TokenRateController tokens) => Math.Max(1, (long)Math.Round(tokens.TokensPerMinute));

    private void PublishGauges()
    {
        _gauges.QueueDepth = _ledger.Count;
        _gauges.Burst = _aimd.State.Burst;
        _gauges.Rate = _aimd.State.Rate;
    }

    private ModelStatus Status()
    {
        var paused = _throttle?.Current.PausedUntil;
        return new ModelStatus(
            _settings.ModelId,
            _ledger.Count,
            _aimd.State.Burst,
            _aimd.State.Rate,
            paused is { } p && p > _time.GetUtcNow() ? p : null,
            _answered)
        {
            TokensPerMinute = _tokenAimd?.TokensPerMinute ?? 0,
            InFlightLimit = _concurrency.Limit,
        };
    }

    private void LogAttempt(Entry entry, WorkItem item, BackendResponse response, TimeSpan elapsed)
    {
        var level = response.Kind == OutcomeKind.Success ? Serilog.Events.LogEventLevel.Debug : Serilog.Events.LogEventLevel.Information;
        _log.Write(level,
            "Attempt {Attempt} of {RequestId} to {Route} model {Model}: {Outcome} status {Status} in {LatencyMs:0.0} ms, {Tokens} tokens, burst {Burst}, rate {Rate:0.###}/s{Error}",
            item.Attempt,
            entry.Request.RequestId,
            _settings.Route.Display,
            _settings.ModelId,
            response.Kind,
            response.StatusCode,
            elapsed.TotalMilliseconds,
            response.Usage?.TotalTokens ?? entry.Cost.Total,
            _aimd.State.Burst,
            _aimd.State.Rate,
            response.ErrorCode is null ? "" : $" ({response.ErrorCode})");
    }

    private static string DescribeProviderError(BackendResponse response) =>
        (response.StatusCode is { } s ? $"HTTP {s}" : "no HTTP answer")
        + (response.ErrorCode is { } c ? $" {c}" : "")
        + (response.ErrorMessage is { } m ? $": {m}" : "");

    private static string RetryKey(string requestId) => "retry:" + requestId;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed class Entry(ChatRequest request, IActorRef replyTo, RequestCost cost)
    {
        public ChatRequest Request { get; } = request;
        public IActorRef ReplyTo { get; } = replyTo;
        public RequestCost Cost { get; } = cost;
        public int Attempts { get; set; }
        /// <summary>Models this request already failed on, in order (fallbacks).</summary>
        public IReadOnlyList<string> Tried { get; init; } = [];
        /// <summary>The fallbacks still to try: the original model's list, minus those already used.</summary>
        public IReadOnlyList<string> Fallbacks { get; init; } = [];
        /// <summary>Calls made for it on those models.</summary>
        public int PriorAttempts { get; init; }
        public DateTimeOffset? FirstAttemptAt { get; set; }
        public WorkItem? Current { get; set; }
        public bool WaitingForRetry { get; set; }
        public BackendResponse? LastResponse { get; set; }
        /// <summary>Came through a cluster relay (<see cref="ClusterRequest"/>): re-delivered the same way.</summary>
        public bool Tracked { get; init; }
        /// <summary>A <see cref="ChatStreamRequest"/>: each attempt streams its text to <see cref="ReplyTo"/>.</summary>
        public bool Stream { get; init; }
    }
}
