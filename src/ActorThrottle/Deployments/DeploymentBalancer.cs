using ActorThrottle.Adaptation;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Routing;
using Akka.Actor;

namespace ActorThrottle.Deployments;

/// <summary>
/// One per model that lists <c>deployments</c>, in the place a <see cref="ModelSupervisor"/> has for a model with one
/// endpoint. It owns the callers' requests (the one reply each), keeps the model's queue in arrival order and hands a
/// request to a deployment — a child <see cref="ModelSupervisor"/> with its own throttle, learned rate and retries —
/// only while that deployment has room (<see cref="DeploymentChoice.Capacity"/>: about a second of its rate beyond its
/// calls in flight). So a deployment that gets into trouble holds little: when the cool-down rule
/// (<see cref="DeploymentHealth"/>) or its own pause takes it out, what it has not sent comes back
/// (<see cref="ReclaimQueued"/>) to its old place in the queue and goes to the others. A request whose retries ran out
/// on one deployment is tried on the next; the model's <c>fallbacks</c> come after every deployment.
/// </summary>
internal sealed class DeploymentBalancer : ReceiveActor, IWithTimers
{
    private const string TickTimer = "tick";

    /// <summary>How often the deployments' rates and pauses are read, deadlines of queued requests checked, work taken back.</summary>
    internal static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);

    private readonly ModelSettings _settings;
    private readonly TimeProvider _time;
    private readonly ActorThrottleMetrics _metrics;
    private readonly Serilog.ILogger _log;
    private readonly Slot[] _slots;
    private readonly Dictionary<IActorRef, Slot> _bySupervisor = [];
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    // The model's queue, one per lane (interactive, batch), in arrival order: a request taken back from a deployment
    // returns to its old place.
    private readonly SortedSet<Pending>[] _lanes = [new(PendingOrder.Instance), new(PendingOrder.Instance)];
    // Requests handed to another model (fallbacks), so a cancel naming this model still reaches them; bounded.
    private readonly Dictionary<string, string> _forwarded = new(StringComparer.Ordinal);
    private const int MaxForwardedRemembered = 10_000;
    private long _sequence;
    private long _dispatched;
    private long _answered;
    private IActorRef? _shutdownRequester;
    private int _deploymentsShuttingDown;
    // Cluster mode: where unanswered requests go when the model moves to another node (see ModelSupervisor's).
    private readonly Action<object, IActorRef>? _redeliver;
    // Where messages for another model go (see ModelSupervisor's).
    private readonly Action<object, IActorRef> _otherModels;
    private bool _handingOff;

    /// <param name="redeliver">
    /// Cluster mode (the balancer is the model's sharded entity): where unanswered requests go on <see cref="HandOffModel"/>,
    /// with their reply-to, as the message to re-send; null: they are answered ShuttingDown.
    /// </param>
    /// <param name="start">
    /// Cluster mode: the AIMD state each deployment starts from (on first use and after every move, as a single-endpoint
    /// model's entity does), from the deployment's settings; null: its configured rate and burst.
    /// </param>
    /// <param name="otherModels">Cluster mode: where messages for another model go (the shard region); null: the parent (the router).</param>
    public DeploymentBalancer(ModelSettings settings, ThrottleEnvironment environment, IReadOnlyList<IChatBackend> backends, ActorThrottleMetrics metrics,
        TimeSpan shutdownGrace, Action<object, IActorRef>? redeliver = null, Func<ModelSettings, AimdState>? start = null,
        Action<object, IActorRef>? otherModels = null)
    {
        _redeliver = redeliver;
        var parent = Context.Parent;
        _otherModels = otherModels ?? ((message, sender) => parent.Tell(message, sender));
        if (settings.Deployments.Count == 0 || backends.Count != settings.Deployments.Count)
        {
            throw new ArgumentException($"Model '{settings.ModelId}' needs one backend per deployment.", nameof(backends));
        }
        _settings = settings;
        _time = environment.Time;
        _metrics = metrics;
        _log = environment.ResolveLogger().ForContext<DeploymentBalancer>().ForContext("Model", settings.ModelId);
        _slots = new Slot[settings.Deployments.Count];
        for (var i = 0; i < _slots.Length; i++)
        {
            var deployment = settings.Deployments[i];
            var supervisor = Context.ActorOf(ModelSupervisor.Props(deployment.Settings, environment, backends[i], metrics, shutdownGrace, start?.Invoke(deployment.Settings)),
                "deployment-" + Uri.EscapeDataString(deployment.Name));
            _slots[i] = new Slot(deployment, supervisor, new DeploymentHealth(deployment.Settings.DeploymentCoolDown));
            _bySupervisor[supervisor] = _slots[i];
        }

        Receive<ChatRequest>(r => Admit(r, Sender, stream: false, [], settings.Fallbacks, 0, original: r));
        Receive<ChatStreamRequest>(r => Admit(r.Request, Sender, stream: true, [], settings.Fallbacks, 0, original: r));
        Receive<FallbackRequest>(f => Admit(f.Request, f.ReplyTo, f.Stream, f.Tried, f.Remaining, f.PriorAttempts, original: f));
        Receive<ClusterRequest>(AdmitFromRelay);
        Receive<HandOffModel>(_ => BeginHandOff());
        Receive<ChatReply>(OnReply);
        Receive<ChatChunk>(c =>
        {
            if (_pending.TryGetValue(c.RequestId, out var p) && p.Stream)
            {
                p.ReplyTo.Tell(c);
            }
        });
        Receive<DeploymentAttemptObserved>(Observed);
        Receive<QueuedReclaimed>(Reclaimed);
        Receive<ModelStatus>(Reported);
        Receive<CancelRequest>(Cancel);
        Receive<GetModelStatus>(_ => Sender.Tell(Status()));
        Receive<Limits.SetModelLimits>(SetLimits);
        Receive<BalancerTick>(_ => Tick());
        Receive<ShutdownModel>(_ => BeginShutdown());
        Receive<ModelShutdownComplete>(_ =>
        {
            _deploymentsShuttingDown--;
            CompleteShutdownIfDone();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ModelSettings settings, ThrottleEnvironment environment, IReadOnlyList<IChatBackend> backends, ActorThrottleMetrics metrics,
        TimeSpan shutdownGrace, Action<object, IActorRef>? redeliver = null, Func<ModelSettings, AimdState>? start = null,
        Action<object, IActorRef>? otherModels = null) =>
        Akka.Actor.Props.Create(() => new DeploymentBalancer(settings, environment, backends, metrics, shutdownGrace, redeliver, start, otherModels));

    // A deployment's supervisor that throws is restarted; its PostStop answers what it held ShuttingDown, which the
    // balancer takes as "send it elsewhere" (see OnReply).
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, -1, _ => Directive.Restart, loggingEnabled: true);

    protected override void PreStart() => Timers.StartPeriodicTimer(TickTimer, BalancerTick.Instance, TickInterval);

    protected override void PostStop()
    {
        // Last line of the exactly-once guarantee: the deployments stopped first, and their answers to this actor are lost.
        foreach (var p in _pending.Values.ToList())
        {
            Answer(p, Failure(p, FailureReason.ShuttingDown, "The model's balancer stopped before the request was answered."));
        }
    }

    /// <summary>Cluster mode: a request through a node's relay, acknowledged once it is held here (a re-send of one held is acknowledged again).</summary>
    private void AdmitFromRelay(ClusterRequest message)
    {
        if (message.Request is not { } request)
        {
            return;
        }
        if (message.Resent && _pending.ContainsKey(request.RequestId))
        {
            Sender.Tell(new RequestAccepted(request.RequestId));
            return;
        }
        if (Admit(request, Sender, message.Stream, [], _settings.Fallbacks, 0, original: message with { Resent = true }, tracked: true))
        {
            Sender.Tell(new RequestAccepted(request.RequestId));
        }
    }

    /// <summary>Admits or answers <paramref name="request"/>; true when it is held here.</summary>
    /// <param name="original">The message to re-deliver as it is while a hand-off is under way.</param>
    /// <param name="tracked">Came through a cluster relay: re-delivered the same way.</param>
    private bool Admit(ChatRequest request, IActorRef caller, bool stream, IReadOnlyList<string> tried, IReadOnlyList<string> fallbacks, int priorAttempts,
        object original, bool tracked = false)
    {
        if (_handingOff && _redeliver is { } redeliver)
        {
            // Arrived after the hand-off began: the model's next incarnation takes it.
            redeliver(original, caller);
            return false;
        }
        FailureReason? reason = null;
        string? why = null;
        var now = _time.GetUtcNow();
        if (_shutdownRequester is not null)
        {
            (reason, why) = (FailureReason.ShuttingDown, "The actor system is shutting down.");
        }
        else if (_pending.ContainsKey(request.RequestId))
        {
            (reason, why) = (FailureReason.InvalidRequest, $"RequestId '{request.RequestId}' is already pending for model '{_settings.ModelId}'; request ids must be unique.");
        }
        else if (request.Deadline is { } deadline && deadline <= now)
        {
            (reason, why) = (FailureReason.DeadlineExceeded, $"Deadline {deadline:O} had already passed when the request arrived.");
        }
        else if (_pending.Count >= _settings.QueueSize)
        {
            (reason, why) = (FailureReason.QueueFull, $"Model '{_settings.ModelId}' already holds {_settings.QueueSize} requests (queue-size).");
        }
        if (reason is { } rejected)
        {
            _metrics.RecordFailure(_settings.ModelId, rejected);
            caller.Tell(new ChatFailure(request.RequestId, rejected, why!, priorAttempts));
            return false;
        }
        var pending = new Pending(request, caller, stream, _sequence++, tried, fallbacks) { Attempts = priorAttempts, Tracked = tracked };
        _pending.Add(request.RequestId, pending);
        Enqueue(pending);
        Dispatch();
        return true;
    }

    /// <summary>
    /// Hands queued requests, oldest first, to the deployment that can send each soonest, while one has room; with the
    /// queue empty, takes unsent work back from a deployment that would send it much later than another
    /// (<see cref="DeploymentChoice.StealFrom"/>), so it comes back here and goes to the sooner one.
    /// </summary>
    private void Dispatch()
    {
        DispatchQueued();
        if (_shutdownRequester is not null || _lanes[0].Count > 0 || _lanes[1].Count > 0)
        {
            return;
        }
        var now = _time.GetUtcNow();
        if (DeploymentChoice.StealFrom(Views(now), now) is { } index && _slots[index] is var slot && now - slot.LastStealAt >= TickInterval)
        {
            // At most one ask per tick: a source whose held requests are all in flight gives nothing back.
            slot.LastStealAt = now;
            TakeBack(slot);
        }
    }

    private void DispatchQueued()
    {
        if (_shutdownRequester is not null)
        {
            return;
        }
        var now = _time.GetUtcNow();
        while (true)
        {
            var views = Views(now);
            if (!views.Any(v => !v.IsUnavailable(now) && v.Room > 0))
            {
                return;
            }
            // The oldest request that some deployment with room may take: one whose retries ran out on the only
            // deployment with room waits (for the others) without holding up the requests behind it; the look-ahead is
            // bounded so a queue of such requests costs little.
            Pending? next = null;
            var index = -1;
            foreach (var candidate in InOrder().Take(MaxLookAhead))
            {
                if (DeploymentChoice.Choose(views, now, candidate.Exhausted.Contains) is { } chosen)
                {
                    (next, index) = (candidate, chosen);
                    break;
                }
            }
            if (next is null)
            {
                return;
            }
            Dequeue(next);
            var slot = _slots[index];
            slot.Held.Add(next.Request.RequestId);
            next.At = index;
            _dispatched++;
            slot.Supervisor.Tell(new FallbackRequest(next.Request, Self, [], [], next.Attempts, next.Stream), Self);
        }
    }

    private void OnReply(ChatReply reply)
    {
        if (!_pending.TryGetValue(reply.RequestId, out var p) || p.At < 0 || !_slots[p.At].Supervisor.Equals(Sender))
        {
            return;
        }
        var slot = _slots[p.At];
        slot.Held.Remove(p.Request.RequestId);
        p.At = -1;
        p.Attempts = Math.Max(p.Attempts, reply.Attempts);
        switch (reply)
        {
            case ChatSuccess success:
                slot.Answered++;
                slot.Successes++;
                Answer(p, success with
                {
                    Deployment = slot.Deployment.Name,
                    // A provider that does not name the model it used: the caller asked for the model, not the deployment's id.
                    ModelUsed = success.ModelUsed == slot.Deployment.Settings.ModelId ? _settings.ModelId : success.ModelUsed,
                });
                break;
            case ChatFailure { Reason: FailureReason.ShuttingDown } when _handingOff && _redeliver is not null:
                // Not answered by a deployment stopping for the hand-off: the next incarnation sends it.
                Release(p);
                break;
            case ChatFailure { Reason: FailureReason.ShuttingDown } when _shutdownRequester is null && ++p.Moves <= MaxMoves:
                // The deployment's supervisor restarted (or stopped) with the request: it was not answered, send it again
                // (a bounded number of times, so a supervisor that keeps failing cannot keep a request forever).
                Enqueue(p);
                break;
            case ChatFailure failure when MovesOn(failure):
                slot.Answered++;
                p.Exhausted.Add(slot.Deployment.Index);
                p.LastFailure = failure;
                if (_slots.All(s => p.Exhausted.Contains(s.Deployment.Index)))
                {
                    FailOrFallBack(p, failure with
                    {
                        Message = $"Every deployment of '{_settings.ModelId}' failed it; the last, '{slot.Deployment.Name}': {failure.Message}",
                    });
                }
                else
                {
                    _log.Debug("Request {RequestId} of {Model} moves on from deployment {Deployment}: {Reason}", p.Request.RequestId, _settings.ModelId,
                        slot.Deployment.Name, failure.Reason);
                    Enqueue(p);
                }
                break;
            default:
                slot.Answered++;
                Answer(p, reply, counted: true);
                break;
        }
        Dispatch();
    }

    /// <summary>A failure that another deployment may not have: retries ran out, the quota is spent, the key or URL is wrong.</summary>
    /// <summary>How often a request may come back from deployments (restarts, take-backs) before it is answered as it stands.</summary>
    private const int MaxMoves = 100;

    private static bool MovesOn(ChatFailure failure) =>
        failure.Reason is FailureReason.RateLimitedExhausted or FailureReason.Transient
        || (failure.Reason == FailureReason.Permanent
            && (failure.ProviderCode == OutcomeClassifier.InsufficientQuota || DeploymentHealth.IsDeploymentFault(failure.StatusCode)));

    private void Observed(DeploymentAttemptObserved observed)
    {
        if (!_bySupervisor.TryGetValue(Sender, out var slot))
        {
            return;
        }
        slot.Latency = slot.Latency is { } latency ? latency * 0.8 + observed.Elapsed * 0.2 : observed.Elapsed;
        if (slot.Health.Observe(observed.Kind, observed.StatusCode, observed.At))
        {
            _log.Warning("Deployment {Deployment} of {Model} ({Endpoint}) cooled down until {Until:O} (cool-down {Count}) after {Outcome} status {Status}; its queued requests move to the others",
                slot.Deployment.Name, _settings.ModelId, slot.Deployment.Settings.Route.Display, slot.Health.CooledDownUntil, slot.Health.CoolDowns, observed.Kind, observed.StatusCode);
            TakeBack(slot);
        }
        Dispatch();
    }

    /// <summary>Asks a deployment for what it has not sent; one request at a time per deployment.</summary>
    private void TakeBack(Slot slot)
    {
        if (!slot.ReclaimPending && slot.Held.Count > 0)
        {
            slot.ReclaimPending = true;
            slot.Supervisor.Tell(ReclaimQueued.Instance);
        }
    }

    private void Reclaimed(QueuedReclaimed reclaimed)
    {
        if (!_bySupervisor.TryGetValue(Sender, out var slot))
        {
            return;
        }
        slot.ReclaimPending = false;
        foreach (var r in reclaimed.Requests)
        {
            if (!_pending.TryGetValue(r.RequestId, out var p) || p.At != slot.Deployment.Index)
            {
                continue;
            }
            slot.Held.Remove(r.RequestId);
            p.At = -1;
            p.Attempts = Math.Max(p.Attempts, r.Attempts);
            p.Moves++;
            if (p.CancelRequested)
            {
                Answer(p, Failure(p, FailureReason.Cancelled, "Cancelled by the caller."));
            }
            else if (_handingOff && _redeliver is not null)
            {
                Release(p);
            }
            else if (_shutdownRequester is not null)
            {
                Answer(p, Failure(p, FailureReason.ShuttingDown, "The actor system is shutting down; the request had not been sent."));
            }
            else
            {
                Enqueue(p);
            }
        }
        if (reclaimed.Requests.Count > 0)
        {
            _log.Information("Took {Count} unsent requests back from deployment {Deployment} of {Model}", reclaimed.Requests.Count, slot.Deployment.Name, _settings.ModelId);
        }
        Dispatch();
    }

    private void Reported(ModelStatus status)
    {
        if (!_bySupervisor.TryGetValue(Sender, out var slot))
        {
            return;
        }
        slot.Last = status;
        if (slot.IsUnavailable(_time.GetUtcNow()))
        {
            TakeBack(slot);
        }
        Dispatch();
    }

    private void Tick()
    {
        var now = _time.GetUtcNow();
        foreach (var slot in _slots)
        {
            slot.Supervisor.Tell(new GetModelStatus(slot.Deployment.Settings.ModelId));
            if (slot.IsUnavailable(now))
            {
                TakeBack(slot);
            }
        }
        foreach (var p in _lanes.SelectMany(l => l).Where(p => p.Request.Deadline is { } d && d <= now).ToList())
        {
            var last = p.LastFailure is { } f ? $"; last error: {f.Message}" : "";
            Answer(p, Failure(p, FailureReason.DeadlineExceeded, $"The deadline {p.Request.Deadline!.Value:O} passed before an answer{last}"));
        }
        Dispatch();
    }

    private void Cancel(CancelRequest cancel)
    {
        if (_forwarded.TryGetValue(cancel.RequestId, out var fallback))
        {
            _otherModels(cancel with { Model = fallback }, Self);
            return;
        }
        if (!_pending.TryGetValue(cancel.RequestId, out var p))
        {
            return;
        }
        if (p.At < 0)
        {
            Answer(p, Failure(p, FailureReason.Cancelled, "Cancelled by the caller."));
            return;
        }
        // The deployment answers Cancelled; if it has just given the request back, Reclaimed answers it.
        p.CancelRequested = true;
        var slot = _slots[p.At];
        slot.Supervisor.Tell(cancel with { Model = slot.Deployment.Settings.ModelId });
    }

    /// <summary>
    /// Limits for one deployment (<see cref="Limits.SetModelLimits.Deployment"/>): handed to its supervisor, which applies
    /// them as a single model's and answers the caller once (its status, <c>model@name</c>); answered here when the message
    /// names no deployment or an unknown one, sets the model-wide queue-size, or the model is stopping.
    /// </summary>
    private void SetLimits(Limits.SetModelLimits message)
    {
        if (message.Deployment is not { } name)
        {
            Sender.Tell(Routing.ThrottleRouter.DeploymentsRefuseLimits(_settings));
            return;
        }
        if (_slots.FirstOrDefault(s => s.Deployment.Name == name) is not { } slot)
        {
            Sender.Tell(Routing.ThrottleRouter.UnknownDeployment(_settings, name));
            return;
        }
        if (message.Limits?.QueueSize is not null)
        {
            Sender.Tell(new Limits.ModelLimitsRejected(_settings.ModelId, "queue-size",
                $"queue-size belongs to model '{_settings.ModelId}' as a whole (its queue is the balancer's; a deployment holds about a second of its rate): leave QueueSize out when naming a deployment."));
            return;
        }
        if (_shutdownRequester is not null)
        {
            Sender.Tell(new Limits.ModelLimitsRejected(_settings.ModelId, "model", "The actor system is shutting down."));
            return;
        }
        slot.Supervisor.Forward(message with { Model = slot.Deployment.Settings.ModelId, Deployment = null });
    }

    /// <summary>Every deployment is exhausted: the model's next fallback takes the request (its supervisor answers), or it fails.</summary>
    private void FailOrFallBack(Pending p, ChatFailure failure)
    {
        var eligible = failure.Reason is FailureReason.RateLimitedExhausted or FailureReason.Transient
            || (failure.Reason == FailureReason.Permanent && failure.ProviderCode == OutcomeClassifier.InsufficientQuota);
        var chain = p.Fallbacks.SkipWhile(f => f == _settings.ModelId || p.Tried.Contains(f)).ToList();
        if (!eligible || chain.Count == 0 || _shutdownRequester is not null)
        {
            Answer(p, failure);
            return;
        }
        var next = chain[0];
        Forget(p);
        if (_forwarded.Count < MaxForwardedRemembered)
        {
            _forwarded[p.Request.RequestId] = next;
        }
        _log.Information("Request {RequestId} falls back from {Model} to {Fallback} after {Attempts} attempts on every deployment: {Reason}",
            p.Request.RequestId, _settings.ModelId, next, p.Attempts, failure.Reason);
        _otherModels(new FallbackRequest(p.Request with { Model = next }, p.ReplyTo, [.. p.Tried, _settings.ModelId], chain.Skip(1).ToList(), p.Attempts, p.Stream), Self);
        CompleteShutdownIfDone();
    }

    /// <param name="counted">A deployment's answer, already counted in the metrics under the deployment's id.</param>
    private void Answer(Pending p, ChatReply reply, bool counted = false)
    {
        if (!Forget(p))
        {
            return;
        }
        _answered++;
        if (reply is ChatFailure failure && !counted)
        {
            _metrics.RecordFailure(_settings.ModelId, failure.Reason);
        }
        p.ReplyTo.Tell(reply);
        CompleteShutdownIfDone();
    }

    private bool Forget(Pending p)
    {
        if (!_pending.Remove(p.Request.RequestId))
        {
            return false;
        }
        _lanes[Lane(p)].Remove(p);
        if (p.At >= 0)
        {
            _slots[p.At].Held.Remove(p.Request.RequestId);
        }
        return true;
    }

    private ChatFailure Failure(Pending p, FailureReason reason, string message) =>
        new(p.Request.RequestId, reason, message, p.Attempts, p.LastFailure?.StatusCode, p.LastFailure?.ProviderCode);

    /// <summary>
    /// Cluster hand-off (rebalance, a node leaving): what is queued here and what the deployments have not sent goes to
    /// the model's next incarnation; calls in flight finish within shutdown-grace (a retryable outcome is re-delivered
    /// too, as the deployment answers it ShuttingDown), then the balancer stops. Without a re-delivery target it is a shutdown.
    /// </summary>
    private void BeginHandOff()
    {
        if (_handingOff)
        {
            return;
        }
        _handingOff = true;
        _log.Information("Handing off {Model}: {Count} unanswered requests", _settings.ModelId, _pending.Count);
        if (_redeliver is not null)
        {
            foreach (var p in _lanes.SelectMany(l => l).ToList())
            {
                Release(p);
            }
            foreach (var slot in _slots.Where(s => s.Held.Count > 0))
            {
                // Answered before the ShutdownModel that BeginShutdown sends next (one sender, one mailbox: in order).
                slot.ReclaimPending = true;
                slot.Supervisor.Tell(ReclaimQueued.Instance);
            }
        }
        BeginShutdown();
    }

    /// <summary>Hands an unanswered request to the model's next incarnation (cluster hand-off).</summary>
    private void Release(Pending p)
    {
        if (_redeliver is not { } redeliver || !Forget(p))
        {
            return;
        }
        if (p.Tracked)
        {
            p.ReplyTo.Tell(new RequestReleased(p.Request.RequestId));
        }
        redeliver(HandOffModel.Redelivery(p.Request, p.ReplyTo, p.Stream, p.Tracked, p.Tried, p.Fallbacks, p.Attempts), p.ReplyTo);
        CompleteShutdownIfDone();
    }

    private void BeginShutdown()
    {
        _shutdownRequester = Sender;
        foreach (var p in _lanes.SelectMany(l => l).ToList())
        {
            Answer(p, Failure(p, FailureReason.ShuttingDown, "The actor system is shutting down; the request had not been sent."));
        }
        _deploymentsShuttingDown = _slots.Length;
        foreach (var slot in _slots)
        {
            slot.Supervisor.Tell(ShutdownModel.Instance);
        }
    }

    private void CompleteShutdownIfDone()
    {
        if (_shutdownRequester is { } requester && _deploymentsShuttingDown == 0)
        {
            if (_handingOff && _redeliver is not null)
            {
                foreach (var p in _pending.Values.ToList())
                {
                    Release(p);
                }
                _deploymentsShuttingDown = -1;
                // The shard waits for the entity to stop before the model starts elsewhere.
                Context.Stop(Self);
                return;
            }
            // Every deployment answered all it held (to this actor, which passed the answers on); what is left here was queued.
            foreach (var p in _pending.Values.ToList())
            {
                Answer(p, Failure(p, FailureReason.ShuttingDown, "The actor system is shutting down."));
            }
            _deploymentsShuttingDown = -1;
            requester.Tell(new ModelShutdownComplete(_settings.ModelId));
        }
    }

    private List<DeploymentView> Views(DateTimeOffset now) =>
        _slots.Select(s => new DeploymentView(s.Deployment.Index, s.Deployment.Priority, s.Deployment.Weight, s.Rate, s.Held.Count,
            DeploymentChoice.Capacity(s.Rate, s.Latency ?? TimeSpan.Zero, _settings.QueueSize), s.UnavailableUntil(now), s.Health.Probing)).ToList();

    private ModelStatus Status()
    {
        var now = _time.GetUtcNow();
        var deployments = _slots.Select(s => new DeploymentStatus(s.Deployment.Name, s.Deployment.Index, s.Deployment.Priority, s.Deployment.Weight,
            s.Deployment.Settings.Route.Display, s.Held.Count, s.Rate, s.Answered, s.Successes, s.UnavailableUntil(now))
        {
            CoolDowns = s.Health.CoolDowns,
            RateFoundBy = s.Last?.RateFoundBy,
            Recent = s.Last?.Recent ?? RecentAttempts.None,
        }).ToList();
        var available = _slots.Where(s => !s.IsUnavailable(now)).ToList();
        var recent = deployments.Select(d => d.Recent).Aggregate(RecentAttempts.None, (a, b) => new RecentAttempts(a.Attempts + b.Attempts,
            a.Successes + b.Successes, a.RateLimited + b.RateLimited, a.NoResponse + b.NoResponse, a.OtherFailures + b.OtherFailures, a.QueueFull + b.QueueFull));
        return new ModelStatus(
            _settings.ModelId,
            _pending.Count,
            available.Sum(s => s.Last?.Burst ?? s.Deployment.Settings.MaxBurst),
            available.Sum(s => s.Rate),
            available.Count == 0 ? _slots.Min(s => s.UnavailableUntil(now)) : null,
            _answered)
        {
            TokensPerMinute = available.Sum(s => s.Last?.TokensPerMinute ?? 0),
            InFlightLimit = available.Sum(s => s.Last?.InFlightLimit ?? 0),
            RateChanges = _slots.Sum(s => s.Last?.RateChanges ?? 0),
            Recent = recent,
            Deployments = deployments,
        };
    }

    /// <summary>How many queued requests a dispatch looks at for one that a deployment with room may take.</summary>
    private const int MaxLookAhead = 64;

    /// <summary>The queue in the order requests leave it: the lane <see cref="Peek"/> picks first, then the other.</summary>
    private IEnumerable<Pending> InOrder()
    {
        var first = Peek();
        if (first is null)
        {
            return [];
        }
        var lane = Lane(first);
        return _lanes[lane].Concat(_lanes[1 - lane]);
    }

    private Pending? Peek()
    {
        var interactive = _lanes[0].Count > 0 ? _lanes[0].Min : null;
        var batch = _lanes[1].Count > 0 ? _lanes[1].Min : null;
        if (interactive is null || batch is null)
        {
            return interactive ?? batch;
        }
        // Batch keeps batch-share of the releases while both lanes wait, as in a single model's queue.
        var every = _settings.BatchShare > 0 ? (long)Math.Round(1 / _settings.BatchShare) : 0;
        return every > 0 && _dispatched % every == every - 1 ? batch : interactive;
    }

    private void Enqueue(Pending p) => _lanes[Lane(p)].Add(p);

    private void Dequeue(Pending p) => _lanes[Lane(p)].Remove(p);

    private static int Lane(Pending p) => p.Request.Priority == Priority.Batch ? 1 : 0;

    /// <summary>One deployment as the balancer tracks it.</summary>
    private sealed class Slot(DeploymentSettings deployment, IActorRef supervisor, DeploymentHealth health)
    {
        public DeploymentSettings Deployment { get; } = deployment;
        public IActorRef Supervisor { get; } = supervisor;
        public DeploymentHealth Health { get; } = health;
        public HashSet<string> Held { get; } = new(StringComparer.Ordinal);
        public ModelStatus? Last { get; set; }
        public TimeSpan? Latency { get; set; }
        public bool ReclaimPending { get; set; }
        /// <summary>When unsent work was last asked back for another deployment (<see cref="DeploymentChoice.StealFrom"/>).</summary>
        public DateTimeOffset LastStealAt { get; set; } = DateTimeOffset.MinValue;
        public long Answered { get; set; }
        public long Successes { get; set; }

        /// <summary>Its throttle's rate: the last reported, or where it starts (the configured rate, or auto's start).</summary>
        public double Rate => Math.Max(Last?.Rate ?? Deployment.Settings.RequestsPerSecond, Deployment.Settings.MinRate);

        public DateTimeOffset? UnavailableUntil(DateTimeOffset now)
        {
            var cooled = Health.CooledDownUntil is { } c && c > now ? c : (DateTimeOffset?)null;
            var paused = Last?.PausedUntil is { } p && p > now ? p : (DateTimeOffset?)null;
            return cooled is null ? paused : paused is null ? cooled : cooled > paused ? cooled : paused;
        }

        public bool IsUnavailable(DateTimeOffset now) => UnavailableUntil(now) is not null;
    }

    /// <summary>One accepted request, from admission to its one answer.</summary>
    private sealed class Pending(ChatRequest request, IActorRef replyTo, bool stream, long sequence, IReadOnlyList<string> tried, IReadOnlyList<string> fallbacks)
    {
        public ChatRequest Request { get; } = request;
        public IActorRef ReplyTo { get; } = replyTo;
        public bool Stream { get; } = stream;
        /// <summary>Its place in the queue: arrival order, kept when it comes back from a deployment.</summary>
        public long Sequence { get; } = sequence;
        public IReadOnlyList<string> Tried { get; } = tried;
        public IReadOnlyList<string> Fallbacks { get; } = fallbacks;
        /// <summary>Deployments whose retries it exhausted.</summary>
        public HashSet<int> Exhausted { get; } = [];
        /// <summary>The deployment holding it; -1 while it is in the balancer's queue.</summary>
        public int At { get; set; } = -1;
        public int Attempts { get; set; }
        public int Moves { get; set; }
        public bool CancelRequested { get; set; }
        /// <summary>Came through a cluster relay (<see cref="ClusterRequest"/>): re-delivered the same way.</summary>
        public bool Tracked { get; init; }
        public ChatFailure? LastFailure { get; set; }
    }

    private sealed class PendingOrder : IComparer<Pending>
    {
        public static readonly PendingOrder Instance = new();

        public int Compare(Pending? x, Pending? y) => (x?.Sequence ?? -1).CompareTo(y?.Sequence ?? -1);
    }
}
