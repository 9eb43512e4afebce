using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Models;
using Akka.Actor;

namespace ActorThrottle.Routing;

/// <summary>
/// One per actor system: validates each request, then routes it by model id to that model's
/// <see cref="ModelSupervisor"/>, creating it on first use from the model's HOCON block merged over defaults.
/// Unknown models follow <c>unknown-models</c>.
/// </summary>
internal sealed partial class ThrottleRouter : ReceiveActor
{
    // Not readonly: a configuration reload replaces it (ThrottleRouter.Limits.cs), so models started later use the new settings.
    private ActorThrottleSettings _settings;
    private readonly ThrottleEnvironment _environment;
    private readonly IChatBackendFactory _backends;
    private readonly ActorThrottleMetrics _metrics;
    private readonly Dictionary<string, IActorRef> _models = new(StringComparer.Ordinal);
    private readonly HashSet<string> _shuttingDownModels = new(StringComparer.Ordinal);
    private readonly List<IActorRef> _shutdownRequesters = [];
    private bool _shuttingDown;
    // Unknown ids seen, with the configured id each nearly matches (null: none), so each is warned about once and the
    // distances are computed once per id; bounded so a flood of random ids cannot grow it (beyond it: no warning).
    private readonly Dictionary<string, string?> _unknownIds = new(StringComparer.Ordinal);
    private const int MaxUnknownIdsRemembered = 1000;
    // Cluster mode: the shard region (or proxy) that holds every model's supervisor; null: local children.
    private readonly IActorRef? _shardRegion;

    /// <param name="shardRegion">
    /// The model placement seam. Null (default): each model's supervisor is a child of this router. Otherwise where
    /// the cluster keeps the models (ActorThrottle.Cluster's per-node relay in front of the shard region keyed by model
    /// id): requests, cancels and status queries are forwarded to it after validation and the unknown-models policy,
    /// and the supervisors belong to the cluster, not to this node.
    /// </param>
    public ThrottleRouter(ActorThrottleSettings settings, ThrottleEnvironment environment, IChatBackendFactory backends, ActorThrottleMetrics metrics,
        IActorRef? shardRegion = null)
    {
        _settings = settings;
        _shardRegion = shardRegion;
        _environment = environment;
        _backends = backends;
        _metrics = metrics;

        Receive<ChatRequest>(r => Route(r, Sender, r));
        Receive<ChatStreamRequest>(r =>
        {
            if (IsOneShot(Sender))
            {
                Sender.Tell(new ChatFailure(r.Request?.RequestId ?? "", FailureReason.InvalidRequest,
                    "A ChatStreamRequest must be sent with Tell from an actor that receives its chunks and then its reply " +
                    "(or through ActorThrottleClient.StreamAsync); an Ask can take only one message.", 0));
                return;
            }
            Route(r.Request!, Sender, r);
        });
        Receive<FallbackRequest>(f => Route(f.Request, f.ReplyTo, f, f.PriorAttempts));
        Receive<CancelRequest>(c =>
        {
            if (_shardRegion is not null)
            {
                if (!string.IsNullOrWhiteSpace(c.Model) && _settings.ForModel(c.Model) is not null)
                {
                    _shardRegion.Forward(c);
                }
            }
            else if (c.Model is not null && _models.TryGetValue(c.Model, out var model))
            {
                model.Forward(c);
            }
        });
        Receive<GetModelStatus>(g =>
        {
            if (_shardRegion is not null && !string.IsNullOrWhiteSpace(g.Model) && _settings.ForModel(g.Model) is not null)
            {
                _shardRegion.Forward(g);
            }
            else if (g.Model is not null && _models.TryGetValue(g.Model, out var model))
            {
                model.Forward(g);
            }
            else
            {
                Sender.Tell(new ModelStatus(g.Model ?? "", 0, 0, 0, null, 0));
            }
        });
        Receive<Limits.SetModelLimits>(SetLimits);
        Receive<ReplaceSettings>(ReplaceSettings);
        Receive<ShutdownThrottle>(_ => BeginShutdown());
        Receive<ModelShutdownComplete>(m =>
        {
            _shuttingDownModels.Remove(m.Model);
            ReportShutdownIfDone();
        });
    }

    public static Props Props(ActorThrottleSettings settings, ThrottleEnvironment environment, IChatBackendFactory backends, ActorThrottleMetrics metrics,
        IActorRef? shardRegion = null) =>
        Akka.Actor.Props.Create(() => new ThrottleRouter(settings, environment, backends, metrics, shardRegion));

    // A supervisor that throws is restarted with its ledger lost; its PostStop answers what it held first.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, -1, _ => Directive.Restart, loggingEnabled: true);

    /// <param name="replyTo">Who gets the answer: the caller, or the original caller of a fallback.</param>
    /// <param name="message">What the model's supervisor receives: the request itself or the fallback wrapper.</param>
    private void Route(ChatRequest request, IActorRef replyTo, object message, int priorAttempts = 0)
    {
        if (ChatRequestValidator.Validate(request) is { } invalid)
        {
            replyTo.Tell(new ChatFailure(request?.RequestId ?? "", FailureReason.InvalidRequest, invalid, priorAttempts));
            return;
        }
        if (_shuttingDown)
        {
            replyTo.Tell(new ChatFailure(request.RequestId, FailureReason.ShuttingDown, "The actor system is shutting down.", priorAttempts));
            return;
        }
        var nearMiss = WarnIfNearMiss(request.Model);
        if (_shardRegion is not null)
        {
            if (_settings.ForModel(request.Model) is null)
            {
                replyTo.Tell(new ChatFailure(request.RequestId, FailureReason.UnknownModel, UnknownModelMessage(request.Model, nearMiss), priorAttempts));
                return;
            }
            _shardRegion.Tell(message, replyTo);
            return;
        }
        if (!_models.TryGetValue(request.Model, out var model))
        {
            var modelSettings = _settings.ForModel(request.Model);
            if (modelSettings is null)
            {
                replyTo.Tell(new ChatFailure(request.RequestId, FailureReason.UnknownModel, UnknownModelMessage(request.Model, nearMiss), priorAttempts));
                return;
            }
            Props props;
            try
            {
                props = ModelProps(modelSettings);
            }
            catch (Exception e)
            {
                // A backend that cannot be built must not take the router (and every other model) down with it.
                replyTo.Tell(new ChatFailure(request.RequestId, FailureReason.Permanent,
                    $"Could not create the backend for model '{request.Model}': {e.GetType().Name}: {e.Message}", priorAttempts));
                return;
            }
            model = Context.ActorOf(props, ActorName(request.Model));
            _models.Add(request.Model, model);
        }
        model.Tell(message, replyTo);
    }

    private static string UnknownModelMessage(string model, string? nearMiss) =>
        $"Model '{model}' is not configured under actor-throttle.models and actor-throttle.unknown-models = reject."
        + (nearMiss is null ? "" : $" Did you mean '{nearMiss}'?");

    /// <summary>
    /// An id that is not configured but nearly matches one that is (a typo that would otherwise get its own throttle
    /// built from defaults, or be rejected) is logged as a warning, once per id. Returns the configured id it resembles.
    /// </summary>
    private string? WarnIfNearMiss(string model)
    {
        if (_settings.ConfiguredModels.ContainsKey(model))
        {
            return null;
        }
        if (_unknownIds.TryGetValue(model, out var known))
        {
            return known;
        }
        if (_unknownIds.Count >= MaxUnknownIdsRemembered)
        {
            return null;
        }
        var configured = NearMiss.Find(model, _settings.ConfiguredModels.Keys);
        _unknownIds[model] = configured;
        if (configured is not null)
        {
            _environment.ResolveLogger().ForContext<ThrottleRouter>().Warning(
                "Model id {Model} is not configured under actor-throttle.models but is close to the configured {ConfiguredModel}: a typo? " +
                "It is handled by actor-throttle.unknown-models = {UnknownModels}", model, configured, _settings.UnknownModels.ToString().ToLowerInvariant());
        }
        return configured;
    }

    private void BeginShutdown()
    {
        _shutdownRequesters.Add(Sender);
        if (!_shuttingDown)
        {
            _shuttingDown = true;
            foreach (var (id, model) in _models)
            {
                _shuttingDownModels.Add(id);
                model.Tell(ShutdownModel.Instance);
            }
        }
        ReportShutdownIfDone();
    }

    private void ReportShutdownIfDone()
    {
        if (!_shuttingDown || _shuttingDownModels.Count > 0)
        {
            return;
        }
        foreach (var requester in _shutdownRequesters)
        {
            requester.Tell(new ThrottleShutdownComplete(_models.Count));
        }
        _shutdownRequesters.Clear();
    }

    /// <summary>An Ask's temporary reply-to (under <c>/temp</c>) takes one message: a stream would break it after the first chunk.</summary>
    private static bool IsOneShot(IActorRef sender) =>
        sender.Path.Elements is [ "temp", .. ];

    /// <summary>Model ids may hold characters actor names cannot; escape them reversibly.</summary>
    internal static string ActorName(string model) => "model-" + Uri.EscapeDataString(model);
}
