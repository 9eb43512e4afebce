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
internal sealed partial class ModelSupervisor : ReceiveActor, IWithTimers
{
    private const string DeadlineTimer = "deadline";
    private const string GraceTimer = "shutdown-grace";

    // Not readonly: limits set at run time (ModelSupervisor.Limits.cs) replace it. _pipeline is what the ModelActor's
    // stream is built with (its queue capacity and parallelism), fixed for the supervisor's life.
    private ModelSettings _settings;
    private readonly ModelSettings _pipeline;
    private readonly TimeSpan _shutdownGrace;
    private readonly IChatBackend _backend;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Serilog.ILogger _log;
    private readonly ActorThrottleMetrics _metrics;
    private readonly ActorThrottleMetrics.ModelGauges _gauges;
    private readonly RateController _rate;
    private readonly RetryBudget _budget;
    private readonly RequestLedger _ledger = new();
    private IActorRef _modelActor = ActorRefs.Nobody;
    private IThrottleControl? _throttle;
    private InFlightGate? _gate;
    private readonly ConcurrencyLimitDetector _concurrency;
    private int _starts;
    private long _rateChanges;
    private long _answered;
    private readonly RecentOutcomes _recent = new();
    private IActorRef? _shutdownRequester;
    private DateTimeOffset? _nextDeadlineTimer;
    private readonly Action<object, IActorRef>? _redeliver;
    // Where messages for another model (a fallback, a cancel that follows it) go: the router, or in cluster mode the shard region.
    private readonly Action<object, IActorRef> _otherModels;
    private bool _handingOff;

    /// <param name="start">The AIMD state to start from (cluster mode: a conservative burst after a move); null: the configured values.</param>
    /// <param name="redeliver">
    /// Where unanswered requests go on <see cref="HandOffModel"/> (cluster mode: back to the shard region, which
    /// delivers them to the model's next incarnation) with their original reply-to, as the message to re-send (a
    /// <see cref="ChatRequest"/>, or a <see cref="ClusterRequest"/> marked re-sent); null: they are answered ShuttingDown.
    /// </param>
    /// <param name="otherModels">
    /// Where messages for another model go, with their sender (cluster mode: the shard region; a shard, the entity's parent,
    /// would start that model's entity inside its own shard, a second throttle for it); null: the parent (the router).
    /// </param>
    public ModelSupervisor(ModelSettings settings, ThrottleEnvironment environment, IChatBackend backend, ActorThrottleMetrics metrics, TimeSpan shutdownGrace,
        AimdState? start = null, Action<object, IActorRef>? redeliver = null, Action<object, IActorRef>? otherModels = null)
    {
        _settings = settings;
        _pipeline = settings;
        _shutdownGrace = shutdownGrace;
        _backend = backend;
        _time = environment.Time;
        _random = environment.RandomFor(settings.ModelId);
        _log = environment.ResolveLogger().ForContext<ModelSupervisor>().ForContext("Model", settings.ModelId);
        _metrics = metrics;
        _gauges = metrics.ForModel(settings.ModelId);
        _rate = new RateController(settings, start);
        _concurrency = new ConcurrencyLimitDetector(settings.MaxInFlight);
        _redeliver = redeliver;
        var parent = Context.Parent;
        _otherModels = otherModels ?? ((message, sender) => parent.Tell(message, sender));
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
        Receive<Limits.SetModelLimits>(SetLimits);
        Receive<ShutdownModel>(_ => BeginShutdown());
        Receive<HandOffModel>(_ => BeginHandOff());
        Receive<QueueDrained>(Drained);
        Receive<Deployments.ReclaimQueued>(_ => Reclaim());
        Receive<ShutdownGraceOver>(_ => FinishShutdown("The actor system is shutting down; the call did not finish within shutdown-grace."));
        Receive<Terminated>(t => t.ActorRef.Equals(_modelActor), _ => StartModelActor());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ModelSettings settings, ThrottleEnvironment environment, IChatBackend backend, ActorThrottleMetrics metrics, TimeSpan shutdownGrace,
        AimdState? start = null, Action<object, IActorRef>? redeliver = null, Action<object, IActorRef>? otherModels = null) =>
        Akka.Actor.Props.Create(() => new ModelSupervisor(settings, environment, backend, metrics, shutdownGrace, start, redeliver, otherModels));

    // Any failure of the ModelActor restarts it; the ledger re-submits what it held.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, -1, _ => Directive.Restart, loggingEnabled: true);

    protected override void PreStart() => StartModelActor();

    protected override void PostStop()
    {
        // Last line of the exactly-once guarantee: nothing accepted leaves without an answer.
        foreach (var entry in _ledger.Snapshot())
        {
            Answer(entry, Failure(entry, FailureReason.ShuttingDown, "The model's supervisor stopped before the request was answered."));
        }
    }

    private void StartModelActor()
    {
        // The stream starts from what AIMD holds now (the configured values, a conservative start, or what it has
        // learned before a restart), so no burst larger than that can leave before the first ApplyAimd.
        var state = _rate.Settings;
        _modelActor = Context.ActorOf(ModelActor.Props(_settings with { MaxBurst = state.Burst, RequestsPerSecond = state.Rate, MaxInFlight = _pipeline.MaxInFlight, QueueSize = _pipeline.QueueSize }, _backend, _time), "model");
        Context.Watch(_modelActor);
    }

    private void Started(ModelActorStarted started)
    {
        _throttle = started.Throttle;
        _gate = started.Gate;
        _gate?.SetLimit(GateLimit);
        _starts++;
        // A fresh stream starts from the configured rate; bring it to what rate control has learned.
        ApplySettings();
        if (_starts == 1)
        {
            return;
        }
        var resubmitted = 0;
        foreach (var entry in _ledger.Snapshot())
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
        if (message.Resent && request.RequestId is { } id && _ledger.Contains(id))
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
        if (Admit(request, Sender, [], _settings.Fallbacks, 0, tracked: true, stream: message.Stream) && _ledger.Contains(request.RequestId))
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
        if (_ledger.Contains(request.RequestId))
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
        var entry = new LedgerEntry(request, caller, cost) { Tried = tried, Fallbacks = fallbacks, PriorAttempts = priorAttempts, Tracked = tracked, Stream = stream,
            AdmittedAt = now, Span = ThrottleTracing.StartRequest(request, _settings) };
        _ledger.Add(entry);
        if (request.Deadline is not null)
        {
            ArmDeadlineTimer();
        }
        if (_rate.InOutage && HasFallback(entry))
        {
            // The model is down and the caller named where to go instead: go there, not into a queue probed once a pause.
            FailOrFallBack(entry, Failure(entry, FailureReason.Transient, OutageMessage));
            return true;
        }
        Submit(entry, isRetry: false);
        PublishGauges();
        return true;
    }

    private void Submit(LedgerEntry entry, bool isRetry)
    {
        var item = new WorkItem(entry.Request, entry.Cost.Total, entry.Attempts + 1, isRetry, entry.Stream ? entry.ReplyTo : null)
        {
            Trace = entry.Span?.Context ?? ActorThrottleTracing.ParentOf(entry.Request),
            QueuedAt = _time.GetUtcNow(),
        };
        entry.Current = item;
        entry.WaitingForRetry = false;
        _modelActor.Tell(new SubmitAttempt(item));
    }

    private void Cancel(CancelRequest cancel)
    {
        if (!_ledger.Contains(cancel.RequestId) && _ledger.TryGetForwarded(cancel.RequestId, out var fallback))
        {
            _otherModels(cancel with { Model = fallback }, Self);
            return;
        }
        if (_ledger.TryGet(cancel.RequestId, out var entry))
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
        if (outcome.Response is not { } response || !_ledger.TryGet(item.Request.RequestId, out var entry))
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
        _recent.RecordAttempt(now, response.Kind, response.StatusCode is not null);
        _metrics.RecordAttempt(_settings, item, response, outcome.StartedAt, outcome.Elapsed);
        LogAttempt(entry, item, response, outcome.Elapsed);
        ReportAttempt(response, now, outcome.Elapsed);
        var concurrency = _concurrency.OnOutcome(response.Kind, outcome.InFlightAtSend, response.RateLimits.HasRateHeaders || response.RateLimits.RetryAfter is not null, outcome.StartedAt, now);
        if (concurrency.Changed)
        {
            _gate?.SetLimit(GateLimit);
            _log.Information("Model {Model} in-flight limit now {Limit} ({Reason})", _settings.ModelId, concurrency.Limit,
                concurrency.ConcurrencyLimited ? $"429 with {outcome.InFlightAtSend} in flight and no rate header or retry-after: a concurrency cap" : "probing after successes");
        }

        var streamed = response.Kind != OutcomeKind.Success && item.ChunksSent > 0;
        // A concurrency cap's 429 (no rate header, no retry-after, high in flight) is answered by the in-flight limit above,
        // not by the rate: it carries nothing else for rate control.
        if (!(response.Kind == OutcomeKind.RateLimited && concurrency.ConcurrencyLimited))
        {
            var cause = response.Kind == OutcomeKind.RateLimited ? RateLimitCause.Of(response.ErrorMessage, response.RateLimits, entry.Cost.Total) : RateLimitedBy.Unknown;
            Apply(_rate.Observe(new RateOutcome(response.Kind, outcome.StartedAt, now, entry.Cost.Total, response.RateLimits, cause, streamed)));
        }

        if (streamed)
        {
            if (response.Kind == OutcomeKind.RateLimited)
            {
                _metrics.RecordRateLimited(_settings.ModelId);
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

    private void Answer(LedgerEntry entry, ChatReply reply)
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
        ThrottleTracing.EndRequest(entry.Span, reply, entry.PriorAttempts + entry.Attempts, entry.FirstAttemptAt - entry.AdmittedAt);
        entry.ReplyTo.Tell(reply);
        PublishGauges();
        if (_shutdownRequester is not null)
        {
            CompleteShutdownIfDone();
        }
    }

    private void Reject(IActorRef caller, ChatRequest request, FailureReason reason, string message)
    {
        if (reason == FailureReason.QueueFull)
        {
            _recent.RecordQueueFull(_time.GetUtcNow());
        }
        _metrics.RecordFailure(_settings.ModelId, reason);
        var failure = new ChatFailure(request.RequestId, reason, message, 0);
        ThrottleTracing.Rejected(request, _settings, failure);
        caller.Tell(failure);
    }

    private static ChatFailure Failure(LedgerEntry entry, FailureReason reason, string message, BackendResponse? response = null)
    {
        response ??= entry.LastResponse;
        var fellBack = entry.Tried.Count > 0 ? $" (after falling back from {string.Join(", ", entry.Tried)})" : "";
        return new ChatFailure(entry.Request.RequestId, reason, message + fellBack, entry.PriorAttempts + entry.Attempts, response?.StatusCode, response?.ErrorCode);
    }
}
